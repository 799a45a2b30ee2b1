// Argument checks every backend applies the same way, so all three throw the
// same InvalidArgument for the same misuse.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "core/error.h"

namespace pyk::backend {

// [offset, offset + length) must lie inside [0, size).
inline void check_range(std::uint64_t offset, std::uint64_t length, std::uint64_t size,
                        const std::string& what) {
  if (offset > size || length > size - offset) {
    throw InvalidArgument("range [" + std::to_string(offset) + ", +" + std::to_string(length) +
                          ") is past the end of " + what + " (size " + std::to_string(size) +
                          ")");
  }
}

// [offset, offset + n) lies wholly within the first `size` bytes (e.g. the
// bytes a segment has in its file already).
inline bool lies_within(std::uint64_t offset, std::uint64_t n, std::uint64_t size) {
  return n <= size && offset <= size - n;
}

// Segment::read() REQUIRES a scratch of at least n bytes; a backend that
// copies checks it rather than write past the caller's buffer.
inline void check_scratch(std::size_t n, std::size_t scratch, const std::string& what) {
  if (scratch < n) {
    throw InvalidArgument("read of " + std::to_string(n) + " bytes of " + what +
                          " into a scratch of " + std::to_string(scratch));
  }
}

inline void check_writable(bool writable, bool sealed, const std::string& what) {
  if (!writable) throw InvalidArgument(what + " is open read-only");
  if (sealed) throw InvalidArgument(what + " is sealed");
}

// A segment name is one path component: no separators, not "." or "..".
inline void check_file_name(const std::string& name) {
  if (name.empty() || name == "." || name == ".." || name.find('/') != std::string::npos ||
      name.find('\0') != std::string::npos) {
    throw InvalidArgument("invalid file name '" + name + "'");
  }
}

}  // namespace pyk::backend
