#include "core/format.h"

#include <algorithm>

#include "core/crc32c.h"

namespace pyk::format {
namespace {

std::uint32_t version_of(std::string_view magic) {
  return magic == kHintMagic ? kHintFormatVersion : kFormatVersion;
}

void append_varint(std::string& out, std::uint64_t v) {
  for (; v >= 0x80; v >>= 7) out.push_back(static_cast<char>(v | 0x80));
  out.push_back(static_cast<char>(v));
}

// Reads a varint of at most `max_bytes` bytes at bytes[at], moving `at` past
// it; false if `bytes` ends first or it runs longer.
bool read_varint(std::span<const std::byte> bytes, std::size_t& at, int max_bytes, std::uint64_t& v) {
  v = 0;
  for (int i = 0; i < max_bytes && at < bytes.size(); ++i) {
    const auto b = std::to_integer<std::uint64_t>(bytes[at++]);
    v |= (b & 0x7f) << (7 * i);
    if (b < 0x80) return true;
  }
  return false;
}

}  // namespace

std::array<std::byte, kFileHeaderSize> encode_file_header(std::string_view magic,
                                                          std::uint64_t segment_id,
                                                          std::uint32_t merge_rank) {
  std::array<std::byte, kFileHeaderSize> out{};
  std::memcpy(out.data(), magic.data(), 8);
  store_le<std::uint32_t>(out.data() + 8, version_of(magic));
  store_le<std::uint32_t>(out.data() + 12, merge_rank);
  store_le<std::uint64_t>(out.data() + 16, segment_id);
  store_le<std::uint32_t>(out.data() + 28, crc32c::value(std::span(out.data(), 28)));
  return out;
}

FileHeaderStatus decode_file_header(std::span<const std::byte> bytes, FileHeader& out) {
  if (bytes.size() < kFileHeaderSize) return FileHeaderStatus::too_short;
  std::string_view magic(reinterpret_cast<const char*>(bytes.data()), 8);
  if (magic == kDataMagic) {
    out.magic = kDataMagic;
  } else if (magic == kHintMagic) {
    out.magic = kHintMagic;
  } else {
    return FileHeaderStatus::bad_magic;
  }
  if (load_le<std::uint32_t>(bytes.data() + 28) != crc32c::value(bytes.first(28)))
    return FileHeaderStatus::bad_crc;
  if (load_le<std::uint32_t>(bytes.data() + 8) != version_of(out.magic))
    return FileHeaderStatus::bad_version;
  out.segment_id = load_le<std::uint64_t>(bytes.data() + 16);
  out.merge_rank = load_le<std::uint32_t>(bytes.data() + 12);
  return FileHeaderStatus::ok;
}

const char* describe(FileHeaderStatus status) {
  switch (status) {
    case FileHeaderStatus::ok: return "ok";
    case FileHeaderStatus::too_short: return "file shorter than its header";
    case FileHeaderStatus::bad_magic: return "not a pyk file (bad magic)";
    case FileHeaderStatus::bad_version: return "unsupported format version";
    case FileHeaderStatus::bad_crc: return "file header checksum mismatch";
  }
  return "unknown file header status";
}

void encode_record(std::string& out, RecordType type, std::string_view key,
                   std::string_view value, std::uint64_t timestamp, std::uint64_t expiry) {
  const std::size_t start = out.size();
  out.resize(start + kRecordHeaderSize + key.size() + value.size());
  auto* p = reinterpret_cast<std::byte*>(out.data() + start);
  std::fill(p, p + kRecordHeaderSize, std::byte{0});
  p[4] = std::byte(type);
  store_le<std::uint32_t>(p + 8, static_cast<std::uint32_t>(key.size()));
  store_le<std::uint32_t>(p + 12, static_cast<std::uint32_t>(value.size()));
  store_le<std::uint64_t>(p + 16, timestamp);
  store_le<std::uint64_t>(p + 24, expiry);
  // A batch header has no key: key.data() may be null, which memcpy must not get.
  if (!key.empty()) std::memcpy(p + kRecordHeaderSize, key.data(), key.size());
  if (!value.empty()) std::memcpy(p + kRecordHeaderSize + key.size(), value.data(), value.size());
  const std::size_t total = kRecordHeaderSize + key.size() + value.size();
  store_le<std::uint32_t>(p, record_crc(std::span<const std::byte>(p, total)));
}

RecordHeader decode_record_header(const std::byte* h) {
  RecordHeader r;
  r.crc = load_le<std::uint32_t>(h);
  r.type = static_cast<RecordType>(std::to_integer<std::uint8_t>(h[4]));
  r.key_size = load_le<std::uint32_t>(h + 8);
  r.value_size = load_le<std::uint32_t>(h + 12);
  r.timestamp = load_le<std::uint64_t>(h + 16);
  r.expiry = load_le<std::uint64_t>(h + 24);
  return r;
}

bool is_zero_header(const std::byte* h) {
  return std::all_of(h, h + kRecordHeaderSize, [](std::byte b) { return b == std::byte{0}; });
}

const char* check_record_header(const RecordHeader& h) {
  switch (h.type) {
    case RecordType::value:
      break;
    case RecordType::tombstone:
      if (h.value_size != 0) return "tombstone with a value";
      break;
    case RecordType::batch:
      if (h.value_size != 16) return "batch header of the wrong size";
      break;
    default:
      return "unknown record type";
  }
  if (h.type != RecordType::batch && h.key_size == 0) return "empty key";
  if (h.key_size > kMaxKeySize) return "key size beyond the format limit";
  if (h.value_size > kMaxValueSize) return "value size beyond the format limit";
  return nullptr;
}

void encode_hint_entry(std::string& out, const HintEntry& e) {
  const std::size_t start = out.size();
  out.append(4, '\0');  // the CRC, once the rest is there
  if (e.type == HintType::end) {
    out.resize(start + kHintEndSize);
    auto* p = reinterpret_cast<std::byte*>(out.data() + start);
    p[4] = std::byte(e.type);
    store_le<std::uint64_t>(p + 8, e.offset);
    store_le<std::uint64_t>(p + 16, e.count);
  } else {
    out.push_back(static_cast<char>(static_cast<std::uint8_t>(e.type) | (e.expiry != 0 ? kHintHasExpiry : 0)));
    append_varint(out, e.key.size());
    append_varint(out, e.record_size);
    append_varint(out, e.offset);
    if (e.expiry != 0) {
      std::byte expiry[8];
      store_le<std::uint64_t>(expiry, e.expiry);
      out.append(reinterpret_cast<const char*>(expiry), 8);
    }
    out.append(e.key);
  }
  auto* p = reinterpret_cast<std::byte*>(out.data() + start);
  store_le<std::uint32_t>(p, crc32c::value(std::span<const std::byte>(p + 4, out.size() - start - 4)));
}

const char* decode_hint_entry(std::span<const std::byte> bytes, HintEntry& out,
                              std::size_t& size, bool verify_crc) {
  size = 0;
  if (bytes.size() < 5) return "truncated hint entry";
  const auto type_byte = std::to_integer<std::uint8_t>(bytes[4]);
  out.type = static_cast<HintType>(type_byte & ~kHintHasExpiry);
  out.key = {};
  out.record_size = 0;
  out.offset = out.expiry = out.count = 0;
  std::size_t at = 5;
  if (type_byte == static_cast<std::uint8_t>(HintType::end)) {
    size = kHintEndSize;
    if (bytes.size() < kHintEndSize) return kHintEntryRunsPastEnd;
    out.offset = load_le<std::uint64_t>(bytes.data() + 8);
    out.count = load_le<std::uint64_t>(bytes.data() + 16);
  } else {
    if (out.type != HintType::value && out.type != HintType::tombstone) return "unknown hint entry type";
    std::uint64_t key_size = 0, record_size = 0;
    if (!read_varint(bytes, at, 5, key_size) || !read_varint(bytes, at, 5, record_size) ||
        !read_varint(bytes, at, 10, out.offset)) {
      // Cut short, or a varint too long: which one, only a longer read can tell.
      return at >= bytes.size() && bytes.size() < kHintMaxHeaderSize ? kHintEntryRunsPastEnd
                                                                      : "malformed hint entry";
    }
    if (key_size > kMaxKeySize) return "hint key size beyond the format limit";
    if (record_size > UINT32_MAX) return "hint record size beyond the format limit";
    out.record_size = static_cast<std::uint32_t>(record_size);
    const std::size_t expiry_at = at;
    if ((type_byte & kHintHasExpiry) != 0) at += 8;
    size = at + key_size;
    if (bytes.size() < size) return kHintEntryRunsPastEnd;
    if ((type_byte & kHintHasExpiry) != 0) out.expiry = load_le<std::uint64_t>(bytes.data() + expiry_at);
    out.key = std::string_view(reinterpret_cast<const char*>(bytes.data() + at), key_size);
  }
  if (verify_crc && load_le<std::uint32_t>(bytes.data()) != crc32c::value(bytes.subspan(4, size - 4)))
    return "hint entry checksum mismatch";
  if (out.type == HintType::end) return nullptr;
  if (out.key.empty()) return "hint entry with an empty key";
  if (out.record_size < kRecordHeaderSize + out.key.size() ||
      (out.type == HintType::tombstone && out.record_size != kRecordHeaderSize + out.key.size()))
    return "hint record size does not fit its key";
  // One encoding per entry: an expiry of 0 is written as none.
  if ((type_byte & kHintHasExpiry) != 0 && out.expiry == 0) return "hint entry flags an expiry of 0";
  return nullptr;
}

std::uint32_t record_crc(std::span<const std::byte> record) {
  return crc32c::value(record.subspan(4));
}

void encode_batch_header(std::string& out, const BatchHeader& batch, std::uint64_t timestamp) {
  std::array<std::byte, kBatchValueSize> value{};
  store_le<std::uint32_t>(value.data(), batch.count);
  store_le<std::uint64_t>(value.data() + 8, batch.length);
  encode_record(out, RecordType::batch, {},
                std::string_view(reinterpret_cast<const char*>(value.data()), value.size()),
                timestamp, 0);
}

BatchHeader decode_batch_header(std::string_view value) {
  const auto* v = reinterpret_cast<const std::byte*>(value.data());
  return BatchHeader{load_le<std::uint32_t>(v), load_le<std::uint64_t>(v + 8)};
}

}  // namespace pyk::format
