// What the libFuzzer targets share: a check that aborts (libFuzzer reports
// the input), and the store-directory input format of open_fuzz and
// fsck_fuzz: files separated by "|FILE|", each led by a byte naming it
// (bit 7: hint file, else datafile; low 3 bits: segment id - 1).
#pragma once

#include <cstdint>
#include <cstdlib>
#include <map>
#include <string>
#include <string_view>

#include "core/filename.h"

#define FUZZ_CHECK(c)       \
  do {                      \
    if (!(c)) std::abort(); \
  } while (0)

namespace pyk::fuzz {

inline constexpr std::string_view kFileSeparator = "|FILE|";

// File name -> bytes, as the input describes them (a later file of the same
// name wins).
inline std::map<std::string, std::string> parse_store_files(std::string_view input) {
  std::map<std::string, std::string> files;
  while (!input.empty()) {
    const auto end = input.find(kFileSeparator);
    const std::string_view chunk = input.substr(0, end);
    if (!chunk.empty()) {
      const auto tag = static_cast<unsigned char>(chunk[0]);
      const std::uint32_t id = 1 + (tag & 7);
      files[tag & 0x80 ? filename::hint(id) : filename::data(id)] = std::string(chunk.substr(1));
    }
    if (end == std::string_view::npos) break;
    input.remove_prefix(end + kFileSeparator.size());
  }
  return files;
}

}  // namespace pyk::fuzz
