// Reading the single-file format of the Python original of pyk.
//
// A Python pyk file is a sequence of records, each a 24-byte little-endian
// header of six u32 (CRC-32 of the value bytes only, write time in seconds,
// expiry in seconds or 0, deleted flag 1 = tombstone, key length, value
// length) followed by the key and the value in UTF-8. It has no magic.
//
// Detection (looks_like_python_pyk): the file does not start with a pyk magic
// and its first record decodes: deleted flag 0 or 1, key length 1..64 KiB,
// the record fits in the file, key and value are valid UTF-8 and the CRC-32 of
// the value matches.
//
// The original counted key and value lengths in characters, not bytes, so a
// non-ASCII key or value makes them too short. The reader first takes the
// lengths as bytes; if that fails it counts them as UTF-8 characters, and
// accepts the record if the CRC then matches (Record::char_lengths says so).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace pyk::tools::python_pyk {

inline constexpr std::size_t kHeaderSize = 24;
inline constexpr std::uint32_t kMaxKeyLength = 64 * 1024;

struct Record {
  std::uint64_t offset = 0;
  std::uint64_t size = 0;  // bytes, header included
  std::uint32_t crc = 0;
  std::uint32_t write_time = 0;  // seconds since the epoch
  std::uint32_t expiry = 0;      // seconds since the epoch, 0 = none
  bool deleted = false;
  std::uint32_t key_length = 0;    // as stored
  std::uint32_t value_length = 0;  // as stored
  bool char_lengths = false;       // stored lengths were characters, not bytes
  std::string_view key;            // points into the file bytes
  std::string_view value;
};

// The record starting at `offset` of `file`, or nullopt with `why` set.
std::optional<Record> decode_at(std::string_view file, std::uint64_t offset, const char** why);

bool looks_like_python_pyk(std::string_view file);

struct Damage {
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
  std::string reason;
  bool at_tail = false;
};

// Walks a whole file held in memory; same protocol as pyk::RecordReader.
class Reader {
 public:
  enum class Step { record, damage, end };
  explicit Reader(std::string_view file) : file_(file) {}
  Step next();
  const Record& record() const { return record_; }
  const Damage& damage() const { return damage_; }

 private:
  std::string_view file_;
  std::uint64_t position_ = 0;
  Record record_;
  Damage damage_;
};

}  // namespace pyk::tools::python_pyk
