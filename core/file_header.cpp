#include "core/file_header.h"

#include <algorithm>
#include <array>

namespace pyk {

const char* describe(FileHeaderProblem problem, std::string_view expected_magic) {
  switch (problem) {
    case FileHeaderProblem::none: return "ok";
    case FileHeaderProblem::too_short: return format::describe(format::FileHeaderStatus::too_short);
    case FileHeaderProblem::bad_magic: return format::describe(format::FileHeaderStatus::bad_magic);
    case FileHeaderProblem::bad_version: return format::describe(format::FileHeaderStatus::bad_version);
    case FileHeaderProblem::bad_crc: return format::describe(format::FileHeaderStatus::bad_crc);
    case FileHeaderProblem::wrong_kind:
      return expected_magic == format::kDataMagic ? "hint file header in a datafile"
                                                  : "datafile header in a hint file";
    case FileHeaderProblem::wrong_id: return "segment id in the header does not match the file name";
  }
  return "unknown file header problem";
}

std::string FileHeaderCheck::describe() const {
  if (problem == FileHeaderProblem::wrong_id)
    return "segment id " + std::to_string(header.segment_id) +
           " in the header does not match the file name (" + std::to_string(expected_id) + ")";
  return pyk::describe(problem, expected_magic);
}

FileHeaderCheck check_file_header(std::span<const std::byte> bytes, std::string_view magic,
                                  std::uint64_t id) {
  FileHeaderCheck out;
  out.expected_magic = magic;
  out.expected_id = id;
  out.present = std::min(bytes.size(), format::kFileHeaderSize);
  out.unwritten = std::all_of(bytes.begin(), bytes.begin() + out.present,
                              [](std::byte b) { return b == std::byte{0}; });
  switch (format::decode_file_header(bytes.first(out.present), out.header)) {
    case format::FileHeaderStatus::ok: break;
    case format::FileHeaderStatus::too_short: out.problem = FileHeaderProblem::too_short; return out;
    case format::FileHeaderStatus::bad_magic: out.problem = FileHeaderProblem::bad_magic; return out;
    case format::FileHeaderStatus::bad_version: out.problem = FileHeaderProblem::bad_version; return out;
    case format::FileHeaderStatus::bad_crc: out.problem = FileHeaderProblem::bad_crc; return out;
  }
  if (out.header.magic != magic) {
    out.problem = FileHeaderProblem::wrong_kind;
  } else if (out.header.segment_id != id) {
    out.problem = FileHeaderProblem::wrong_id;
  }
  return out;
}

FileHeaderCheck check_file_header(const Segment& segment, std::string_view magic,
                                  std::uint64_t id) {
  std::array<std::byte, format::kFileHeaderSize> bytes{};
  const auto present =
      static_cast<std::size_t>(std::min<std::uint64_t>(segment.size(), bytes.size()));
  segment.read(0, std::span(bytes).first(present));
  return check_file_header(std::span<const std::byte>(bytes).first(present), magic, id);
}

}  // namespace pyk
