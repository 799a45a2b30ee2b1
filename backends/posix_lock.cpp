#include "backends/posix_lock.h"

#include <fcntl.h>
#include <pthread.h>

#include <boost/interprocess/sync/file_lock.hpp>
#include <cerrno>
#include <filesystem>
#include <mutex>
#include <set>

#include "backends/posix_io.h"
#include "core/error.h"

namespace pyk {
namespace {

// Canonical paths of the lock files this process holds.
std::mutex held_mu;
std::set<std::string> held;  // GUARDED_BY(held_mu)

// A forked child inherits `held` but none of the fcntl locks, so it starts
// with an empty set (and must not inherit held_mu locked either).
void register_fork_handlers() {
  static std::once_flag once;
  std::call_once(once, [] {
    ::pthread_atfork([] { held_mu.lock(); }, [] { held_mu.unlock(); },
                     [] {
                       held.clear();
                       held_mu.unlock();
                     });
  });
}

class PosixLock final : public DirectoryLock {
 public:
  PosixLock(std::string path, boost::interprocess::file_lock lock)
      : path_(std::move(path)), lock_(std::move(lock)) {}

  ~PosixLock() override {
    std::lock_guard guard(held_mu);
    // Close the descriptor (dropping the fcntl lock) before another thread may
    // take the path: a second descriptor opened while we still hold the lock
    // would lose it when we close ours.
    lock_ = boost::interprocess::file_lock();
    held.erase(path_);
  }

 private:
  const std::string path_;
  boost::interprocess::file_lock lock_;
};

std::string canonical_lock_path(const std::string& directory, const std::string& name) {
  std::error_code ec;
  std::filesystem::path dir = std::filesystem::canonical(directory, ec);
  if (ec) throw_io_error("resolve", directory, ec.value());
  return (dir / name).string();
}

}  // namespace

std::unique_ptr<DirectoryLock> lock_posix_file(const std::string& directory,
                                               const std::string& name) {
  register_fork_handlers();
  const std::string path = canonical_lock_path(directory, name);
  std::lock_guard guard(held_mu);
  if (held.contains(path)) {
    throw LockError("another open store in this process holds the store at " + directory, path);
  }
  posix::open_file(path, O_RDWR | O_CREAT);  // file_lock needs an existing file
  boost::interprocess::file_lock lock;
  bool locked = false;
  try {
    lock = boost::interprocess::file_lock(path.c_str());
    locked = lock.try_lock();
  } catch (const boost::interprocess::interprocess_exception& e) {
    const int code = e.get_native_error();
    throw IoError("lock failed for " + path + ": " + e.what(), path, code != 0 ? code : EIO);
  }
  if (!locked) throw LockError("another process holds the store at " + directory, path);
  held.insert(path);
  return std::make_unique<PosixLock>(path, std::move(lock));
}

}  // namespace pyk
