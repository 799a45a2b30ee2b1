// MemoryDirectory: a whole store held in RAM, for tests and tools.
//
// The object outlives any store using it, so a test can close a store and
// reopen it without touching the disk; tests cut its power through the
// fault-injection wrapper (tests/fault_injection.h). Open
// segments share their MemoryFile with the directory entry, which is how
// removed and renamed files stay readable through them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "backends/memory_segment.h"
#include "core/directory.h"

namespace pyk {

// Thread-safe.
class MemoryDirectory final : public Directory {
 public:
  // `location` only appears in messages (describe()).
  explicit MemoryDirectory(std::string location = "memory");

  std::vector<std::string> list() const override;
  bool exists(const std::string& name) const override;
  std::unique_ptr<Segment> create(const std::string& name, std::uint64_t size_hint) override;
  std::unique_ptr<Segment> open(const std::string& name, OpenMode mode) override;
  bool remove(const std::string& name) override;
  void rename(const std::string& from, const std::string& to) override;
  // A no-op: RAM holds nothing more durably once synced.
  void sync() override;
  // In-process only: there is no other process to exclude.
  std::unique_ptr<DirectoryLock> lock(const std::string& name) override;
  std::string_view backend() const override { return "memory"; }
  std::string describe() const override;

  std::size_t file_count() const;

 private:
  // Shared with the locks handed out, so a lock may outlive the directory.
  using Files = std::map<std::string, std::shared_ptr<MemoryFile>>;
  struct State {
    std::mutex mu;
    Files files;                   // GUARDED_BY(mu)
    std::set<std::string> locked;  // GUARDED_BY(mu)
  };
  class Lock;

  std::string path_of(const std::string& name) const { return location_ + "/" + name; }
  // REQUIRES: state_->mu held.
  std::shared_ptr<MemoryFile> find_locked(const std::string& name, const char* operation) const;

  const std::string location_;
  const std::shared_ptr<State> state_;
};

// The "memory" backend by name: the same MemoryDirectory for the same path
// string for the rest of the process, so a store can be closed and reopened by
// name. Missing and !create: IoError(ENOENT). Directories are never freed.
std::shared_ptr<MemoryDirectory> open_memory_directory(const std::string& path, bool create);

}  // namespace pyk
