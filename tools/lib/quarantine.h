// pyk-fsck --repair never deletes: what it drops goes to the store's
// quarantine folder first (naming in fsck.h).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "core/directory.h"

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

// Writes `bytes` as file `name` of `directory` and seals it.
void write_file(Directory& directory, const std::string& name, std::string_view bytes);

// Keeps `bytes` as `base` in `quarantine` (".1", ".2"... if taken), durably.
void quarantine_bytes(Directory& quarantine, const std::string& base, std::string_view bytes);

// Copies file `name` of `store` to `quarantine`, then removes it, durably.
void move_to_quarantine(Directory& store, Directory& quarantine, const std::string& name);

}  // namespace pyk::tools
