// What FaultInjectionDirectory tracks for power cuts — each file's synced
// length and the name changes since the last directory sync — and the power
// cut itself, which rewrites the wrapped directory as a power loss could leave
// it (tests/fault_injection.h says what is modelled). Private to
// fault_injection.cpp and power_cut.cpp.
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "tests/fault_injection.h"

namespace pyk::test {

class FaultInjectionDirectory::Durability {
 public:
  using State = std::shared_ptr<FileState>;

  // Hooks the wrappers call once an operation took effect on the target.
  State created(const std::string& name);
  State opened(const std::string& name, std::uint64_t size);
  // These carry the operation out themselves, remembering what to restore.
  bool remove(Directory& target, const std::string& name);
  void rename(Directory& target, const std::string& from, const std::string& to);
  void synced_directory();

  std::size_t unsynced_name_ops() const;
  std::optional<std::uint64_t> synced_size(const std::string& name) const;
  void power_cut(Directory& target, const PowerCut& cut);

 private:
  struct NameOp {
    enum Kind { create, remove, rename } kind;
    std::string name, to;
    // remove: the bytes the file had synced; rename: those of the file `to`
    // replaced, if there was one.
    std::optional<std::string> saved;
  };

  static State synced_state(std::uint64_t size);
  // What of file `name` would survive a power cut now; nullopt if none.
  std::optional<std::string> durable_bytes(Directory& target, const std::string& name);
  // REQUIRES: mu_ held.
  void undo(Directory& target, const NameOp& op);

  mutable std::mutex mu_;
  std::map<std::string, State> files_;  // GUARDED_BY(mu_): by current name
  std::vector<NameOp> journal_;         // GUARDED_BY(mu_): since the last directory sync
};

}  // namespace pyk::test
