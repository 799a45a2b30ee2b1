// Directory: the set of files making up one store, as the engine sees it.
// Modelled on leveldb::Env: segments plus the directory operations that
// rotation, hint files, merge and locking need, so every backend (even the
// in-memory one) can run the whole engine.
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

  // Names (not paths) of every file in the directory, in no particular order.
  virtual std::vector<std::string> list() const = 0;
  virtual bool exists(const std::string& name) const = 0;

  // Creates a new empty segment, writable. Throws IoError if it already exists.
  // `size_hint` is the size the segment is expected to reach (mmap reserves it).
  virtual std::unique_ptr<Segment> create(const std::string& name, std::uint64_t size_hint) = 0;

  // Opens an existing segment. Throws IoError (ENOENT) if it does not exist.
  virtual std::unique_ptr<Segment> open(const std::string& name, OpenMode mode) = 0;

  // Removes a file; false if there was none (ENOENT). Other failures throw
  // IoError. Open segments stay readable until they are destroyed.
  virtual bool remove(const std::string& name) = 0;

  // Atomically replaces `to` with `from`.
  virtual void rename(const std::string& from, const std::string& to) = 0;

  // Makes creations, removals and renames durable (fsync of the directory).
  virtual void sync() = 0;

  // Takes the store's exclusive writer lock (file `name`). Throws LockError if
  // another process or another open Store in this process holds it.
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
