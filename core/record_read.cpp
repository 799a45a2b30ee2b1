#include "core/record_read.h"

#include <algorithm>
#include <optional>

#include "core/error.h"
#include "core/format.h"

namespace pyk {

CheckedRecord check_record(const Segment& segment, std::uint64_t offset,
                           std::span<const std::byte> record) {
  const auto header = format::decode_record_header(record.data());
  if (header.record_size() != record.size() || format::record_crc(record) != header.crc) {
    throw CorruptionError("record checksum mismatch on read", segment.describe(), offset);
  }
  const auto* body = reinterpret_cast<const char*>(record.data()) + format::kRecordHeaderSize;
  return CheckedRecord{std::string_view(body, header.key_size),
                       std::string_view(body + header.key_size, header.value_size), {}};
}

CheckedRecord read_record(const Segment& segment, const Location& location, std::string& scratch) {
  scratch.resize(location.size);
  return check_record(
      segment, location.offset,
      segment.read(location.offset, location.size, std::as_writable_bytes(std::span(scratch))));
}

CheckedRecord read_pinned_record(const Segment& segment, const Location& location) {
  PinnedBytes pinned = segment.pin(location.offset, location.size);
  CheckedRecord out = check_record(segment, location.offset, pinned.bytes);
  out.pinned = std::move(pinned);
  return out;
}

void read_in_file_order(const std::map<std::uint32_t, std::shared_ptr<Segment>>& segments,
                        std::vector<RecordRef>& refs,
                        const std::function<bool(const CheckedRecord&)>& fn,
                        const std::function<void(const CorruptionError&)>& damaged) {
  std::sort(refs.begin(), refs.end(),
            [](const RecordRef& a, const RecordRef& b) { return a.position < b.position; });
  constexpr std::uint64_t kWindow = 1 << 20, kMaxGap = 64 << 10;
  std::string scratch;
  std::span<const std::byte> window;
  std::uint64_t window_start = 0, window_end = 0;
  std::uint32_t current = 0;
  const Segment* segment = nullptr;
  for (std::size_t i = 0; i < refs.size(); ++i) {
    const auto id = static_cast<std::uint32_t>(refs[i].position >> 32);
    const auto offset = static_cast<std::uint32_t>(refs[i].position);
    const std::uint32_t size = refs[i].size;
    if (segment == nullptr || id != current) {
      segment = segments.at(id).get();
      current = id;
      window_start = window_end = 0;
    }
    if (offset < window_start || offset + size > window_end) {
      // The window: this record and the following ones of the segment that
      // lie close enough (a gap of at most kMaxGap) to share one read.
      std::uint64_t end = offset + std::uint64_t{size};
      for (std::size_t j = i + 1; j < refs.size() && refs[j].position >> 32 == id; ++j) {
        const auto next = static_cast<std::uint32_t>(refs[j].position);
        const std::uint64_t next_end = next + std::uint64_t{refs[j].size};
        if (next > end + kMaxGap || next_end - offset > kWindow) break;
        end = next_end;
      }
      scratch.resize(end - offset);
      window = segment->read(offset, end - offset, std::as_writable_bytes(std::span(scratch)));
      window_start = offset;
      window_end = end;
    }
    std::optional<CheckedRecord> record;
    try {
      record = check_record(*segment, offset, window.subspan(offset - window_start, size));
    } catch (const CorruptionError& e) {
      damaged(e);
      continue;
    }
    if (!fn(*record)) return;
  }
}

}  // namespace pyk
