// RecordReader: the one decoder of physical datafile records. LogReader
// (log_reader.h) builds committed units — a record or a whole batch — on it
// for recovery, merge, hint writing and the tools; pyk-dump's
// record-by-record view uses it directly.
//
// It walks a segment record by record. Damage (bad CRC, impossible header,
// truncated record, stray bytes) is reported as a Damage step that covers
// the bad bytes up to the next position where a valid record starts, or up
// to the end of the segment (a torn tail); the caller decides whether that
// is an error (strict recovery) or something to report and skip (tools).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/format.h"
#include "core/segment.h"

namespace pyk {

struct Record {
  std::uint64_t offset = 0;
  format::RecordHeader header;
  std::string_view key;    // valid until the next call to next()
  std::string_view value;  // valid until the next call to next()
  std::uint64_t size() const { return header.record_size(); }
};

struct Damage {
  std::uint64_t offset = 0;  // first bad byte
  std::uint64_t length = 0;  // bytes up to the next valid record, or to the end
  std::string reason;
  bool at_tail = false;  // no valid record follows: a torn or garbage tail
};

class RecordReader {
 public:
  enum class Step { record, damage, end };

  // Reads records of `segment` starting at `start` (normally just after the
  // file header). The segment must outlive the reader. Only the bytes present
  // when the reader is constructed are read.
  RecordReader(const Segment& segment, std::uint64_t start);

  // record: record() holds the next record. damage: damage() describes a bad
  // region; the next call continues after it. end: no more data; a zero-filled
  // tail (never written: zeroed by a power cut, or preallocated) also counts as the end.
  Step next();

  const Record& record() const { return record_; }
  const Damage& damage() const { return damage_; }

  // Offset just past the last record returned (where valid data ends so far).
  std::uint64_t valid_end() const { return valid_end_; }

 private:
  // Makes [offset, offset + n) available in the window and returns it.
  const std::byte* fetch(std::uint64_t offset, std::size_t n);
  // Why the record at `offset` is not valid, or nullptr if it is.
  const char* check_at(std::uint64_t offset);
  bool zero_until_end(std::uint64_t offset);
  std::uint64_t find_next_valid(std::uint64_t from);

  const Segment& segment_;
  const std::uint64_t end_;
  std::uint64_t position_;
  std::uint64_t valid_end_;
  std::span<const std::byte> window_;  // from Segment::read: in scratch_ or the segment
  std::vector<std::byte> scratch_;
  std::uint64_t window_start_ = 0;
  Record record_;
  Damage damage_;
};

}  // namespace pyk
