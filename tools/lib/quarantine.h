// pyk-fsck --repair never deletes: what it drops goes to the store's
// quarantine folder first (naming in fsck.h).
#pragma once

#include <string>
#include <string_view>

#include "core/directory.h"

namespace pyk::tools {

// Writes `bytes` as file `name` of `directory` and seals it.
void write_file(Directory& directory, const std::string& name, std::string_view bytes);

// Keeps `bytes` as `base` in `quarantine` (".1", ".2"... if taken), durably.
void quarantine_bytes(Directory& quarantine, const std::string& base, std::string_view bytes);

// Copies file `name` of `store` to `quarantine`, then removes it, durably.
void move_to_quarantine(Directory& store, Directory& quarantine, const std::string& name);

}  // namespace pyk::tools
