// pyk-fsck --repair never deletes: what it drops goes to the store's
// quarantine folder first (naming and the byte-range helpers in core/quarantine.h,
// shared with recovery).
#pragma once

#include <string>

#include "core/directory.h"
#include "core/quarantine.h"

namespace pyk::tools {

// Copies file `name` of `store` to `quarantine`, then removes it, durably.
void move_to_quarantine(Directory& store, Directory& quarantine, const std::string& name);

}  // namespace pyk::tools
