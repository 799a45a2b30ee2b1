// SyncRecorder: watches what a store on a real directory (file or mmap
// backend) makes durable. A Directory wrapper records every append, create,
// rename and remove; the backend's sync hook (posix::set_sync_observer)
// records every fdatasync and fsync that reached the OS and how many
// bytes of which file it covered. Tests then ask whether an acknowledged write
// is durable: the answer comes from the syscalls, not from the engine's word,
// so it turns false if a backend stops syncing.
//
// Not modelled: whether the disk honours the sync (tests/fault_injection.h
// simulates power cuts). One recorder may exist at a time (the hook is global).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/directory.h"

namespace pyk::test {

class SyncRecorder {
 public:
  using Clock = std::chrono::steady_clock;

  SyncRecorder();   // installs the hook
  ~SyncRecorder();  // removes it
  SyncRecorder(const SyncRecorder&) = delete;
  SyncRecorder& operator=(const SyncRecorder&) = delete;

  // The store directory at `path` on `backend`, recording through this recorder.
  // REQUIRES: the recorder outlives the directory and everything opened from it.
  std::shared_ptr<Directory> open(const std::string& backend, const std::string& path);

  // The last append made by the calling thread through a recorded directory:
  // the file (its path) and the end of the appended bytes.
  struct Append {
    std::string path;
    std::uint64_t end = 0;
    Clock::time_point at;
  };
  static Append last_append_of_this_thread();

  // Bytes of `path` made durable by syncs so far.
  std::uint64_t durable(const std::string& path) const;
  // When a sync first made `end` bytes of `path` durable; nullopt if none has yet.
  std::optional<Clock::time_point> durable_since(const std::string& path, std::uint64_t end) const;

  // What is not durable yet, one line each (empty: everything is): appended
  // bytes of datafiles not covered by a sync, and creations and renames of
  // datafiles (and of hint files, with `hint_names`) not followed by a sync
  // of the directory. Datafiles holding nothing but their header are left out. A hint's bytes are never synced: one a power cut tore
  // is rejected at open.
  std::string not_durable(bool hint_names = false) const;

  // Problems seen when a datafile was removed while something written before
  // was not durable yet (what a removal must wait for: merge drops its
  // inputs only after its output and every write before it are durable).
  std::string early_removals() const;

  // Called by the hook and by the wrapper.
  void synced(const std::string& path, std::uint64_t bytes);
  void appended(const std::string& path, std::uint64_t end);
  void created(const std::string& directory, const std::string& name);
  void renamed(const std::string& directory, const std::string& from, const std::string& to);
  void removing(const std::string& directory, const std::string& name);

 private:
  struct File {
    std::uint64_t appended = 0;
    std::uint64_t durable = 0;
    std::vector<std::pair<std::uint64_t, Clock::time_point>> syncs;  // bytes covered, when
  };
  struct Dir {
    std::uint64_t syncs = 0;  // directory fsyncs so far
    // Each name created or renamed to (and still there): `syncs` at the time.
    std::map<std::string, std::uint64_t> names;
  };
  std::string not_durable_locked(bool hint_names) const;  // REQUIRES: mu_ held
  // A datafile with more than its header appended. One without (a spare
  // being made, or one never used) holds no write: neither its syncs nor
  // its removal can lose one. REQUIRES: mu_ held.
  bool holds_records(const std::string& path) const;

  mutable std::mutex mu_;
  std::map<std::string, File> files_;  // by path
  std::map<std::string, Dir> dirs_;    // by path
  std::string early_removals_;
};

}  // namespace pyk::test
