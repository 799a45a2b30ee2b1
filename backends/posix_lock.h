// The store lock of the file and mmap backends.
#pragma once

#include <memory>
#include <string>

#include "core/directory.h"

namespace pyk {

// Creates `directory`/`name` if needed and takes an exclusive lock on it:
// a Boost.Interprocess file_lock (fcntl) against other processes, plus a
// process-wide set of held paths, since fcntl locks never exclude the process
// that holds them. Throws LockError if either is taken.
//
// fcntl locks drop when the process closes *any* descriptor of the file, so
// nothing else may open the lock file while it is held (this function never
// opens it while this process holds it).
std::unique_ptr<DirectoryLock> lock_posix_file(const std::string& directory,
                                               const std::string& name);

}  // namespace pyk
