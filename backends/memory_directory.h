// MemoryDirectory: a whole store held in RAM, for tests and tools.
//
// The object outlives any store using it, so a test can close a store, reopen
// it, or cut its power (drop_unsynced()) without touching the disk. Open
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
  // Makes creations, removals and renames durable for power_cut(); for
  // drop_unsynced() they count as durable at once.
  void sync() override;
  // In-process only: there is no other process to exclude.
  std::unique_ptr<DirectoryLock> lock(const std::string& name) override;
  std::string_view backend() const override { return "memory"; }
  std::string describe() const override;

  // Simulated power loss: cuts every file back to the bytes synced through
  // sync()/seal(). Files never synced stay, empty. The namespace is kept.
  void drop_unsynced();

  // A harsher power loss for crash tests (cf. leveldb's fault_injection_test).
  struct PowerCut {
    // Creations, removals and renames since the last Directory::sync() that
    // survive: the first keep_name_ops of them, in order (a journal commits
    // in order). 0 = the namespace of the last sync(); SIZE_MAX = all.
    std::size_t keep_name_ops = SIZE_MAX;
    // Bytes kept of each file, clamped to [synced size, size]: a torn write
    // that reached the disk in part. Null: keep only synced bytes.
    std::function<std::uint64_t(std::uint64_t synced, std::uint64_t size)> keep_bytes;
    // The last `scramble` kept unsynced bytes of a file are overwritten with
    // bytes derived from `seed` (a sector that was being written).
    std::size_t scramble = 0;
    std::uint64_t seed = 0;
  };
  // Afterwards every surviving byte and name counts as synced.
  // REQUIRES: no store is open on the directory.
  void power_cut(const PowerCut& cut);
  // Creations, removals and renames not yet made durable by sync().
  std::size_t unsynced_name_ops() const;
  std::size_t file_count() const;
  // Synced length of `name`; IoError(ENOENT) if missing.
  std::uint64_t synced_size(const std::string& name) const;

 private:
  // Shared with the locks handed out, so a lock may outlive the directory.
  using Files = std::map<std::string, std::shared_ptr<MemoryFile>>;
  // A creation (file set, to empty), removal (file null) or rename (to set).
  struct NameOp {
    std::string name, to;
    std::shared_ptr<MemoryFile> file;
  };
  struct State {
    std::mutex mu;
    Files files;                   // GUARDED_BY(mu)
    std::set<std::string> locked;  // GUARDED_BY(mu)
    Files durable;                 // GUARDED_BY(mu): the namespace at the last sync()
    std::vector<NameOp> journal;   // GUARDED_BY(mu): changes since then
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
