// pyk-fsck --repair never deletes: what it drops goes to the store's
// quarantine folder first (naming and the byte-range helpers in core/quarantine.h,
// shared with recovery).
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "core/directory.h"
#include "core/quarantine.h"

namespace pyk::tools {

// The quarantine folder, made on first use (so a repair that moves nothing
// leaves none behind).
class Quarantine {
 public:
  explicit Quarantine(std::function<std::shared_ptr<Directory>()> make) : make_(std::move(make)) {}
  Directory& get() {
    if (!directory_) directory_ = make_();
    return *directory_;
  }

 private:
  std::function<std::shared_ptr<Directory>()> make_;
  std::shared_ptr<Directory> directory_;
};

// Copies file `name` of `store` to `quarantine`, then removes it, durably.
void move_to_quarantine(Directory& store, Directory& quarantine, const std::string& name);

}  // namespace pyk::tools
