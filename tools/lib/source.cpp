#include "tools/lib/source.h"

#include <algorithm>
#include <cerrno>
#include <filesystem>

#include "core/error.h"
#include "core/filename.h"

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

std::vector<std::string> datafiles(const Directory& directory) {
  std::vector<std::pair<std::uint32_t, std::string>> found;
  for (auto& name : directory.list()) {
    const auto parsed = filename::parse(name);
    if (parsed.kind == filename::Kind::data) found.emplace_back(parsed.segment_id, name);
  }
  std::sort(found.begin(), found.end());
  std::vector<std::string> names;
  for (auto& [id, name] : found) names.push_back(std::move(name));
  return names;
}

std::string read_all(Directory& directory, const std::string& name) {
  auto segment = directory.open(name, OpenMode::read_only);
  std::string bytes(segment->size(), '\0');
  segment->read(0, std::as_writable_bytes(std::span(bytes)));
  return bytes;
}

}  // namespace pyk::tools
