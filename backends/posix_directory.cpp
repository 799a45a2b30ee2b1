#include "backends/posix_directory.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <filesystem>

#include "backends/checks.h"
#include "backends/posix_io.h"
#include "backends/posix_lock.h"
#include "core/error.h"

namespace pyk {

PosixDirectory::PosixDirectory(std::string path, const SegmentFactory& factory)
    : path_(std::move(path)), factory_(factory) {}

std::string PosixDirectory::path_of(const std::string& name) const {
  backend::check_file_name(name);
  return path_ + "/" + name;
}

std::vector<std::string> PosixDirectory::list() const {
  posix::Fd fd = posix::open_file(path_, O_RDONLY | O_DIRECTORY);
  DIR* dir = ::fdopendir(fd.get());
  if (dir == nullptr) throw_io_error("opendir", path_, errno);
  fd.release();  // now owned by `dir`
  std::unique_ptr<DIR, int (*)(DIR*)> closer(dir, &::closedir);

  std::vector<std::string> names;
  for (;;) {
    errno = 0;
    const dirent* entry = ::readdir(dir);
    if (entry == nullptr) {
      if (errno != 0) throw_io_error("readdir", path_, errno);
      return names;
    }
    bool regular = entry->d_type == DT_REG;
    if (entry->d_type == DT_UNKNOWN) {  // some file systems do not fill d_type
      struct stat st {};
      regular = ::fstatat(::dirfd(dir), entry->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
                S_ISREG(st.st_mode);
    }
    if (regular) names.emplace_back(entry->d_name);
  }
}

bool PosixDirectory::exists(const std::string& name) const {
  const std::string path = path_of(name);
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) return true;
  if (errno == ENOENT) return false;
  throw_io_error("stat", path, errno);
}

std::unique_ptr<Segment> PosixDirectory::create(const std::string& name, std::uint64_t size_hint) {
  return factory_.create(path_of(name), name, size_hint);
}

std::unique_ptr<Segment> PosixDirectory::open(const std::string& name, OpenMode mode) {
  return factory_.open(path_of(name), name, mode);
}

bool PosixDirectory::remove(const std::string& name) {
  const std::string path = path_of(name);
  if (::unlink(path.c_str()) == 0) return true;
  if (errno == ENOENT) return false;
  throw_io_error("unlink", path, errno);
}

void PosixDirectory::rename(const std::string& from, const std::string& to) {
  const std::string from_path = path_of(from);
  const std::string to_path = path_of(to);
  if (std::rename(from_path.c_str(), to_path.c_str()) != 0) {
    throw_io_error("rename to " + to_path, from_path, errno);
  }
}

void PosixDirectory::sync() {
  posix::Fd fd = posix::open_file(path_, O_RDONLY | O_DIRECTORY);
  posix::fsync_fd(fd.get(), path_);
}

std::unique_ptr<DirectoryLock> PosixDirectory::lock(const std::string& name) {
  backend::check_file_name(name);
  return lock_posix_file(path_, name);
}

std::shared_ptr<Directory> open_posix_directory(const std::string& path, bool create,
                                                const SegmentFactory& factory) {
  std::error_code ec;
  if (create) {
    std::filesystem::create_directories(path, ec);
    // create_directories reports an existing non-directory as EEXIST; the
    // status check below turns that into ENOTDIR.
    if (ec && ec != std::errc::file_exists) throw_io_error("create directory", path, ec.value());
  }
  const std::filesystem::file_status status = std::filesystem::status(path, ec);
  if (status.type() == std::filesystem::file_type::not_found) {
    throw_io_error("open directory", path, ENOENT);
  }
  if (ec) throw_io_error("open directory", path, ec.value());
  if (!std::filesystem::is_directory(status)) throw_io_error("open directory", path, ENOTDIR);
  return std::make_shared<PosixDirectory>(path, factory);
}

}  // namespace pyk
