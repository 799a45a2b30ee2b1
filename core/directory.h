// Directory: the set of files making up one store, as the engine sees it.
// Modelled on leveldb::Env: segments plus the directory operations that
// rotation, hint files, merge and locking need, so every backend (even the
// in-memory one) can run the whole engine. This header states the contract
// every backend keeps; tests/segment_conformance_test.cpp checks it.
//
// Thread safety: every call may come from any thread, concurrently.
//
// Names: a file name is one path component (not empty, not "." or "..", no
// '/' or NUL); every call given another throws InvalidArgument.
//
// Durability: creations, removals and renames show at once (list(),
// exists(), open()) but are durable only after sync(). Removing or renaming
// a file changes its name only: segments open on it keep reading its bytes.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "segment.h"

namespace pyk {

// Held exclusive lock on a store; released on destruction.
class DirectoryLock {
 public:
  virtual ~DirectoryLock() = default;
};

enum class OpenMode { read_only, append };

class Directory {
 public:
  virtual ~Directory() = default;

  // Names (not paths) of every regular file in the directory (lock files
  // included, subdirectories not), in no particular order.
  virtual std::vector<std::string> list() const = 0;
  virtual bool exists(const std::string& name) const = 0;

  // Creates a new empty segment, writable and not sealed. Throws IoError
  // (EEXIST) if the file exists. `size_hint` is the size the segment is
  // expected to reach (mmap reserves it); appends may go past it.
  virtual std::unique_ptr<Segment> create(const std::string& name, std::uint64_t size_hint) = 0;

  // Opens an existing segment. Throws IoError (ENOENT) if it does not exist.
  // read_only: the segment counts as sealed (Segment::sealed()). append:
  // appends continue at its end.
  virtual std::unique_ptr<Segment> open(const std::string& name, OpenMode mode) = 0;

  // Removes a file; false if there was none (ENOENT). Other failures throw
  // IoError. Open segments stay readable until they are destroyed.
  virtual bool remove(const std::string& name) = 0;

  // Atomically replaces `to` with `from`. Throws IoError (ENOENT) if `from`
  // does not exist.
  virtual void rename(const std::string& from, const std::string& to) = 0;

  // Makes creations, removals and renames durable (fsync of the directory).
  virtual void sync() = 0;

  // Takes the store's exclusive writer lock (file `name`, created if missing).
  // Throws LockError if another process holds it, or another lock taken in
  // this process through any Directory on the same store. The lock is
  // released when the DirectoryLock is destroyed; it may outlive the Directory.
  // Never open() the lock file: closing any descriptor of a file drops the
  // POSIX (fcntl) lock held on it.
  virtual std::unique_ptr<DirectoryLock> lock(const std::string& name) = 0;

  // Backend name ("file", "mmap", "memory", ...) and location, for messages.
  virtual std::string_view backend() const = 0;
  virtual std::string describe() const = 0;
};

// Opens the directory at `path` with the backend called `backend`
// ("file", "mmap", "memory"). `create` makes the directory if it is missing.
// Throws InvalidArgument naming the valid backends for an unknown name, and
// IoError if the directory is missing (and !create) or cannot be made.
// Defined in backends/registry.cpp.
std::shared_ptr<Directory> open_directory(std::string_view backend, const std::string& path,
                                          bool create);

// The backend names open_directory() accepts.
std::vector<std::string> backend_names();

}  // namespace pyk
