#include "core/format.h"

#include <algorithm>

#include "core/crc32c.h"

namespace pyk::format {

std::array<std::byte, kFileHeaderSize> encode_file_header(std::string_view magic,
                                                          std::uint64_t segment_id,
                                                          std::uint32_t merge_rank) {
  std::array<std::byte, kFileHeaderSize> out{};
  std::memcpy(out.data(), magic.data(), 8);
  store_le<std::uint32_t>(out.data() + 8, kFormatVersion);
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
  if (load_le<std::uint32_t>(bytes.data() + 8) != kFormatVersion)
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
  out.resize(start + kHintEntryHeaderSize + e.key.size());
  auto* p = reinterpret_cast<std::byte*>(out.data() + start);
  std::fill(p, p + kHintEntryHeaderSize, std::byte{0});
  p[4] = std::byte(e.type);
  store_le<std::uint32_t>(p + 8, static_cast<std::uint32_t>(e.key.size()));
  store_le<std::uint32_t>(p + 12, e.record_size);
  store_le<std::uint64_t>(p + 16, e.offset);
  store_le<std::uint64_t>(p + 24, e.timestamp);
  store_le<std::uint64_t>(p + 32, e.expiry);
  // The end entry has no key: e.key.data() may be null, which memcpy must not get.
  if (!e.key.empty()) std::memcpy(p + kHintEntryHeaderSize, e.key.data(), e.key.size());
  store_le<std::uint32_t>(
      p, crc32c::value(std::span<const std::byte>(p + 4, kHintEntryHeaderSize - 4 + e.key.size())));
}

const char* decode_hint_entry(std::span<const std::byte> bytes, HintEntry& out,
                              std::size_t& size, bool verify_crc) {
  if (bytes.size() < kHintEntryHeaderSize) return "truncated hint entry";
  const std::byte* p = bytes.data();
  const std::uint32_t key_size = load_le<std::uint32_t>(p + 8);
  if (key_size > kMaxKeySize) return "hint key size beyond the format limit";
  if (bytes.size() - kHintEntryHeaderSize < key_size) return "hint entry runs past the end";
  size = kHintEntryHeaderSize + key_size;
  if (verify_crc && load_le<std::uint32_t>(p) != crc32c::value(bytes.subspan(4, size - 4)))
    return "hint entry checksum mismatch";
  out.type = static_cast<HintType>(std::to_integer<std::uint8_t>(p[4]));
  out.record_size = load_le<std::uint32_t>(p + 12);
  out.offset = load_le<std::uint64_t>(p + 16);
  out.timestamp = load_le<std::uint64_t>(p + 24);
  out.expiry = load_le<std::uint64_t>(p + 32);
  out.key = std::string_view(reinterpret_cast<const char*>(p + kHintEntryHeaderSize), key_size);
  switch (out.type) {
    case HintType::value:
    case HintType::tombstone:
      if (key_size == 0) return "hint entry with an empty key";
      if (out.record_size < kRecordHeaderSize + key_size ||
          (out.type == HintType::tombstone && out.record_size != kRecordHeaderSize + key_size))
        return "hint record size does not fit its key";
      break;
    case HintType::end:
      break;
    default:
      return "unknown hint entry type";
  }
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
