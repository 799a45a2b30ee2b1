#include "tools/lib/source.h"

#include <cerrno>
#include <filesystem>

#include "core/error.h"
#include "core/filename.h"
#include "core/replay_order.h"

namespace pyk::tools {

Source open_source(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const auto status = fs::status(path, ec);
  if (ec) throw_io_error("stat", path, ec.value());
  if (fs::is_directory(status)) return {open_directory("file", path, false), {}};
  if (!fs::is_regular_file(status)) throw IoError(path + " is not a regular file or directory", path, EINVAL);
  fs::path p(path);
  const std::string parent = p.has_parent_path() ? p.parent_path().string() : ".";
  return {open_directory("file", parent, false), p.filename().string()};
}

std::vector<std::string> datafiles(Directory& directory) {
  std::vector<std::string> names;
  for (const auto& position : replay_order(directory)) names.push_back(filename::data(position.id));
  return names;
}

std::string read_all(Directory& directory, const std::string& name) {
  auto segment = directory.open(name, OpenMode::read_only);
  std::string bytes(segment->size(), '\0');
  segment->read_into(0, std::as_writable_bytes(std::span(bytes)));
  return bytes;
}

}  // namespace pyk::tools
