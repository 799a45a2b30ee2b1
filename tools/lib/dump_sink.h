// Where pyk-dump's lines go: the walk over files (dump.cpp) says what it
// found, a sink decides how it looks. Two sinks: text (dump_text_sink.cpp) and
// JSON Lines (dump_json_sink.cpp); their formats are documented in dump.h.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <memory>
#include <string_view>

#include "tools/lib/dump.h"

namespace pyk::tools {

// Bad regions show at most this many of their bytes with --hex.
inline constexpr std::size_t kMaxHexDamage = 256;

// The first line of a file: what kind of file it is.
struct FileLine {
  std::string_view file;
  bool python_pyk = false;  // a file of the Python pyk, which has no header
  std::string_view magic;   // otherwise: from its header (format.h)
  std::uint64_t segment_id = 0;
  std::uint64_t file_size = 0;
};

// One record of a datafile or a Python pyk file.
struct RecordLine {
  std::string_view file;
  std::uint64_t offset = 0, size = 0;
  std::string_view type;  // value, tombstone, batch
  std::uint64_t timestamp_us = 0, expiry_us = 0;
  bool has_key = true;  // false: a batch header, which has counts instead
  std::string_view key, value;  // the whole value; the sink cuts it to max_value
  std::uint64_t batch_records = 0, batch_bytes = 0;
  bool char_lengths = false;  // a Python record whose lengths counted characters
  std::string_view raw;       // the record's bytes, read only with options.hex
};

// One entry of a hint file.
struct HintLine {
  std::string_view file;
  std::uint64_t offset = 0, size = 0;
  std::string_view entry;  // value, tombstone, end
  bool is_end = false;
  // An end entry: the datafile size and entry count it claims.
  std::uint64_t data_size = 0, entries = 0;
  // Any other entry: the key and the record it points at.
  std::string_view key, datafile;
  std::uint64_t record_offset = 0, record_size = 0, expiry_us = 0;
  bool crc_ok = true;
  std::string_view raw;  // only with options.hex
};

// Bytes that are no valid record (or entry, or header).
struct DamageLine {
  std::string_view file;
  std::uint64_t offset = 0, length = 0;
  std::string_view reason;
  bool at_tail = false;  // nothing valid follows
  std::string_view raw;  // its bytes (the sink shows kMaxHexDamage), only with options.hex
};

// --live: a key whose newest record is damaged or lost, so no value is shown.
struct DamagedKeyLine {
  std::string_view file;
  std::uint64_t offset = 0;
  std::string_view key;
  std::string_view reason;
};

// hint::check's verdict on a whole hint file.
struct HintVerdictLine {
  std::string_view file;
  const char* problem = nullptr;  // nullptr: the hint is good
  std::string_view checked_against;
  std::uint64_t entries = 0;
};

class DumpSink {
 public:
  virtual ~DumpSink() = default;
  virtual void file(const FileLine& line) = 0;
  virtual void record(const RecordLine& line) = 0;
  virtual void hint_entry(const HintLine& line) = 0;
  virtual void damage(const DamageLine& line) = 0;
  virtual void damaged_key(const DamagedKeyLine& line) = 0;
  virtual void hint_verdict(const HintVerdictLine& line) = 0;
  virtual void summary(const DumpSummary& summary) = 0;
};

// The sink options.json asks for, writing to `out` (which must outlive it).
std::unique_ptr<DumpSink> make_dump_sink(const DumpOptions& options, std::ostream& out);
// The two sinks make_dump_sink chooses from (dump_text_sink.cpp, dump_json_sink.cpp);
// `out` must outlive them.
std::unique_ptr<DumpSink> make_text_dump_sink(const DumpOptions& options, std::ostream& out);
std::unique_ptr<DumpSink> make_json_dump_sink(const DumpOptions& options, std::ostream& out);

}  // namespace pyk::tools
