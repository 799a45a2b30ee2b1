// Reading and judging the 32-byte header of a datafile or hint file (layout
// in format.h): the one place that decides whether a file's header is right
// for the file it sits in. Recovery, replay order, hint loading, pyk-dump and
// pyk-fsck all ask here.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "core/format.h"
#include "core/segment.h"

namespace pyk {

enum class FileHeaderProblem {
  none,
  too_short,    // the file ends inside its header
  bad_magic,    // not a pyk file
  bad_version,  // a format version this build does not read
  bad_crc,      // the header's checksum does not match
  wrong_kind,   // a hint header in a datafile, or the reverse
  wrong_id,     // the segment id in the header is not the one in the file name
};
// A fixed phrase for `problem`, e.g. "file header checksum mismatch".
const char* describe(FileHeaderProblem problem, std::string_view expected_magic);

struct FileHeaderCheck {
  FileHeaderProblem problem = FileHeaderProblem::none;
  format::FileHeader header;  // decoded fields; meaningful unless the decode failed
  std::size_t present = 0;    // header bytes the file holds (fewer than 32 if it is shorter)
  bool unwritten = false;     // every byte present is zero (a creation that never wrote it)
  std::string_view expected_magic;
  std::uint64_t expected_id = 0;

  bool ok() const { return problem == FileHeaderProblem::none; }
  // The bytes are a well-formed header (`header` holds its fields), if maybe
  // not the one this file should have.
  bool decoded() const {
    return ok() || problem == FileHeaderProblem::wrong_kind || problem == FileHeaderProblem::wrong_id;
  }
  // What is wrong, naming the ids where they disagree.
  std::string describe() const;
};

// Judges `bytes` (the first bytes of a file, possibly fewer than a header) as
// the header of a file of kind `magic` (format::kDataMagic or kHintMagic)
// belonging to segment `id`.
FileHeaderCheck check_file_header(std::span<const std::byte> bytes, std::string_view magic,
                                  std::uint64_t id);
// Reads the header of `segment` and judges it. Throws IoError.
FileHeaderCheck check_file_header(const Segment& segment, std::string_view magic,
                                  std::uint64_t id);

}  // namespace pyk
