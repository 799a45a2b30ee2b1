#include "core/record_read.h"

#include <algorithm>
#include <array>
#include <memory>
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

namespace {

void check_holds_key(const CheckedRecord& record, std::string_view key, const Segment& segment,
                     std::uint64_t offset) {
  if (record.key != key)
    throw CorruptionError("the record the keydir points at holds another key", segment.describe(),
                          offset);
}

// Cuts `out`, which holds `record`, down to its value.
void keep_only_value(const CheckedRecord& record, std::string& out) {
  const auto value_at = static_cast<std::size_t>(record.value.data() - out.data());
  out.erase(0, value_at);  // one memmove of the value, in cache
  out.resize(record.value.size());
}

}  // namespace

void read_value_into(const Segment& segment, const Location& location, std::string_view key,
                     std::string& out) {
  out.resize(location.size);
  const auto bytes =
      segment.read(location.offset, location.size, std::as_writable_bytes(std::span(out)));
  const CheckedRecord record = check_record(segment, location.offset, bytes);
  check_holds_key(record, key, segment, location.offset);
  if (bytes.data() != reinterpret_cast<const std::byte*>(out.data())) {
    out.assign(record.value);  // within the size just set: no allocation
    return;
  }
  keep_only_value(record, out);
}

void value_of_record_in(const Segment& segment, const Location& location, std::string_view key,
                        std::string& out) {
  const CheckedRecord record = check_record(segment, location.offset, std::as_bytes(std::span(out)));
  check_holds_key(record, key, segment, location.offset);
  keep_only_value(record, out);
}

CheckedRecord read_pinned_record(const Segment& segment, const Location& location,
                                 std::string_view key) {
  PinnedBytes pinned = segment.pin(location.offset, location.size);
  CheckedRecord out = check_record(segment, location.offset, pinned.bytes);
  check_holds_key(out, key, segment, location.offset);
  out.pinned = std::move(pinned);
  return out;
}

void RecordsBySegment::throw_not_held(std::uint32_t id) {
  throw Error("keydir points into segment " + std::to_string(id) + ", which the store does not hold");
}

// An LSD radix sort by offset, kDigitBits at a time over only the digits
// in which the offsets differ (each offset is distinct, so sizes need no
// pass; the refs of one region differ in about two digits). Each pass is
// over a few thousand refs in cache.
void sort_in_file_order(std::span<RecordRef> refs, std::vector<RecordRef>& spare) {
  constexpr int kDigitBits = 10;
  constexpr std::uint32_t kDigits = 1u << kDigitBits;
  const auto in_file_order = [](const RecordRef& a, const RecordRef& b) { return a.packed < b.packed; };
  // The keydir hands them over in arena order, which for a store written in
  // order is file order already: checked in one pass before sorting.
  if (std::is_sorted(refs.begin(), refs.end(), in_file_order)) return;
  const std::size_t n = refs.size();
  if (n < 64) {
    std::sort(refs.begin(), refs.end(), in_file_order);
    return;
  }
  std::uint32_t all_or = 0, all_and = ~std::uint32_t{0};
  for (const RecordRef& r : refs) {
    all_or |= r.offset();
    all_and &= r.offset();
  }
  const std::uint32_t varying = all_or ^ all_and;
  if (spare.size() < n) spare.resize(n);
  RecordRef* from = refs.data();
  RecordRef* to = spare.data();
  for (int shift = 0; shift < 32; shift += kDigitBits) {
    if (((varying >> shift) & (kDigits - 1)) == 0) continue;  // the same digit in every ref
    std::array<std::uint32_t, kDigits + 1> start{};
    for (std::size_t i = 0; i < n; ++i) ++start[((from[i].offset() >> shift) & (kDigits - 1)) + 1];
    for (std::size_t d = 1; d < start.size(); ++d) start[d] += start[d - 1];
    for (std::size_t i = 0; i < n; ++i) to[start[(from[i].offset() >> shift) & (kDigits - 1)]++] = from[i];
    std::swap(from, to);
  }
  if (from != refs.data()) std::copy(from, from + n, refs.data());
}

bool read_in_file_order(const Segment& segment, std::span<const RecordRef> refs,
                        const std::function<bool(const CheckedRecord&)>& fn,
                        const std::function<void(const CorruptionError&)>& damaged) {
  constexpr std::uint64_t kWindow = 1 << 20, kMaxGap = 64 << 10;
  // A zero-copy window is the segment's own memory, most of it not in cache:
  // the record this many ahead is fetched while this one is checked (the
  // hardware prefetcher loses a stream with gaps at every page).
  constexpr std::size_t kAhead = 8;
  const bool zero_copy = segment.zero_copy();
  std::string scratch;
  std::span<const std::byte> window;
  std::uint64_t window_start = 0, window_end = 0;
  for (std::size_t i = 0; i < refs.size(); ++i) {
    const std::uint32_t offset = refs[i].offset(), size = refs[i].size();
    if (zero_copy && i + kAhead < refs.size()) prefetch_head(segment, refs[i + kAhead].offset(), refs[i + kAhead].size());
    if (zero_copy && i + 1 < refs.size()) prefetch_whole(segment, refs[i + 1].offset(), refs[i + 1].size());
    if (offset < window_start || offset + std::uint64_t{size} > window_end) {
      // The window: this record and the following ones that lie close
      // enough (a gap of at most kMaxGap) to share one read.
      std::uint64_t end = offset + std::uint64_t{size};
      for (std::size_t j = i + 1; j < refs.size(); ++j) {
        const std::uint64_t next = refs[j].offset(), next_end = next + refs[j].size();
        if (next > end + kMaxGap || next_end - offset > kWindow) break;
        end = next_end;
      }
      scratch.resize(end - offset);
      window = segment.read(offset, end - offset, std::as_writable_bytes(std::span(scratch)));
      window_start = offset;
      window_end = end;
    }
    std::optional<CheckedRecord> record;
    try {
      record = check_record(segment, offset, window.subspan(offset - window_start, size));
    } catch (const CorruptionError& e) {
      damaged(e);
      continue;
    }
    if (!fn(*record)) return false;
  }
  return true;
}

}  // namespace pyk
