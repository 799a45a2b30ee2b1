// PosixDirectory: a store directory on a POSIX file system, shared by the
// "file" and "mmap" backends; only the kind of segment it makes differs.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "core/directory.h"

namespace pyk {

// How a backend creates and opens its segments. `path` is the file's full path.
struct SegmentFactory {
  std::string_view backend;
  std::unique_ptr<Segment> (*create)(const std::string& path, const std::string& name,
                                     std::uint64_t size_hint);
  std::unique_ptr<Segment> (*open)(const std::string& path, const std::string& name,
                                   OpenMode mode);
};

// Thread-safe: holds no mutable state; the file system serialises.
class PosixDirectory final : public Directory {
 public:
  // REQUIRES: `path` is an existing directory (open_posix_directory() checks).
  PosixDirectory(std::string path, const SegmentFactory& factory);

  std::vector<std::string> list() const override;
  bool exists(const std::string& name) const override;
  std::unique_ptr<Segment> create(const std::string& name, std::uint64_t size_hint) override;
  std::unique_ptr<Segment> open(const std::string& name, OpenMode mode) override;
  bool remove(const std::string& name) override;
  void rename(const std::string& from, const std::string& to) override;
  void sync() override;
  std::unique_ptr<DirectoryLock> lock(const std::string& name) override;
  std::string_view backend() const override { return factory_.backend; }
  std::string describe() const override { return path_; }

 private:
  std::string path_of(const std::string& name) const;

  const std::string path_;
  const SegmentFactory factory_;
};

// Opens (with `create`: first makes, with parents) the directory at `path`.
// IoError ENOENT if it is missing and !create, ENOTDIR if it is not a directory.
std::shared_ptr<Directory> open_posix_directory(const std::string& path, bool create,
                                                const SegmentFactory& factory);

}  // namespace pyk
