#include "core/filename.h"

#include <charconv>
#include <cstdio>

namespace pyk::filename {
namespace {

std::string numbered(std::uint32_t id, const char* suffix) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%010u%s", id, suffix);
  return buf;
}

}  // namespace

std::string data(std::uint32_t segment_id) { return numbered(segment_id, ".data"); }
std::string hint(std::uint32_t segment_id) { return numbered(segment_id, ".hint"); }
std::string temp(std::string_view final_name) { return std::string(final_name) + ".tmp"; }

Parsed parse(std::string_view name) {
  if (name == kLock) return {Kind::lock, 0};
  if (name == kManifest) return {Kind::manifest, 0};
  if (name == kKeydirSnapshot) return {Kind::keydir_snapshot, 0};
  if (name.ends_with(".tmp")) return {Kind::temp, 0};
  Kind kind;
  if (name.ends_with(".data")) {
    kind = Kind::data;
  } else if (name.ends_with(".hint")) {
    kind = Kind::hint;
  } else {
    return {};
  }
  const std::string_view digits = name.substr(0, name.size() - 5);
  if (digits.size() != 10) return {};
  std::uint32_t id = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), id);
  if (ec != std::errc() || end != digits.data() + digits.size() || id == 0) return {};
  return {kind, id};
}

}  // namespace pyk::filename
