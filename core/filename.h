// Names of the files in a store directory: built and parsed only here.
//   0000000001.data   datafile (segment) 1
//   0000000001.hint   hint file of segment 1
//   LOCK              the writer lock
//   MANIFEST          the segments the store must have (core/manifest.h)
//   KEYDIR            the keydir saved by close (core/keydir_snapshot.h)
//   *.tmp             unfinished output of merge or hint writing; removed on open
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace pyk::filename {

enum class Kind { data, hint, lock, manifest, keydir_snapshot, temp, other };

struct Parsed {
  Kind kind = Kind::other;
  std::uint32_t segment_id = 0;  // for data and hint files
};

inline constexpr std::string_view kLock = "LOCK";
inline constexpr std::string_view kManifest = "MANIFEST";
inline constexpr std::string_view kKeydirSnapshot = "KEYDIR";

std::string data(std::uint32_t segment_id);
std::string hint(std::uint32_t segment_id);
std::string temp(std::string_view final_name);  // final_name + ".tmp"
Parsed parse(std::string_view name);

}  // namespace pyk::filename
