#include "core/record_reader.h"

#include <algorithm>

namespace pyk {
namespace {
constexpr std::size_t kWindowSize = 1 << 20;
}

RecordReader::RecordReader(const Segment& segment, std::uint64_t start)
    : segment_(segment), end_(segment.size()), position_(start), valid_end_(start) {}

const std::byte* RecordReader::fetch(std::uint64_t offset, std::size_t n) {
  if (offset < window_start_ || offset + n > window_start_ + window_.size()) {
    const std::uint64_t length = std::min<std::uint64_t>(std::max(n, kWindowSize), end_ - offset);
    scratch_.resize(length);
    window_ = segment_.read(offset, length, scratch_);
    window_start_ = offset;
  }
  return window_.data() + (offset - window_start_);
}

const char* RecordReader::check_at(std::uint64_t offset) {
  if (end_ - offset < format::kRecordHeaderSize) return "truncated record header";
  const auto header = format::decode_record_header(fetch(offset, format::kRecordHeaderSize));
  if (const char* reason = format::check_record_header(header)) return reason;
  if (header.record_size() > end_ - offset) return "record runs past the end of the file";
  const auto* bytes = fetch(offset, header.record_size());
  if (format::record_crc(std::span(bytes, header.record_size())) != header.crc)
    return "checksum mismatch";
  return nullptr;
}

bool RecordReader::zero_until_end(std::uint64_t offset) {
  while (offset < end_) {
    const std::size_t n = std::min<std::uint64_t>(kWindowSize, end_ - offset);
    const auto* p = fetch(offset, n);
    if (!std::all_of(p, p + n, [](std::byte b) { return b == std::byte{0}; })) return false;
    offset += n;
  }
  return true;
}

std::uint64_t RecordReader::find_next_valid(std::uint64_t from) {
  for (std::uint64_t candidate = from; candidate + format::kRecordHeaderSize <= end_; ++candidate) {
    // Cheap filter before the full check: a plausible type byte.
    const auto type = std::to_integer<std::uint8_t>(fetch(candidate, format::kRecordHeaderSize)[4]);
    if (type < 1 || type > 3) continue;
    if (check_at(candidate) == nullptr) return candidate;
  }
  return end_;
}

RecordReader::Step RecordReader::next() {
  if (position_ >= end_) return Step::end;
  const char* reason = check_at(position_);
  if (reason == nullptr) {
    const auto* bytes = fetch(position_, format::kRecordHeaderSize);
    record_.offset = position_;
    record_.header = format::decode_record_header(bytes);
    const auto* body = reinterpret_cast<const char*>(fetch(position_, record_.size())) +
                       format::kRecordHeaderSize;
    record_.key = std::string_view(body, record_.header.key_size);
    record_.value = std::string_view(body + record_.header.key_size, record_.header.value_size);
    position_ += record_.size();
    valid_end_ = position_;
    return Step::record;
  }
  if (end_ - position_ >= format::kRecordHeaderSize &&
      format::is_zero_header(fetch(position_, format::kRecordHeaderSize)) &&
      zero_until_end(position_)) {
    position_ = end_;  // zero-filled space that was never written
    return Step::end;
  }
  if (end_ - position_ < format::kRecordHeaderSize && zero_until_end(position_)) {
    position_ = end_;
    return Step::end;
  }
  const std::uint64_t next_valid = find_next_valid(position_ + 1);
  damage_.offset = position_;
  damage_.length = next_valid - position_;
  damage_.reason = reason;
  damage_.at_tail = next_valid >= end_;
  position_ = next_valid;
  return Step::damage;
}

}  // namespace pyk
