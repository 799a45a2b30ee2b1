#include "tools/lib/python_pyk.h"

#include <boost/crc.hpp>

#include "core/format.h"
#include "tools/lib/text.h"

namespace pyk::tools::python_pyk {
namespace {

std::uint32_t u32_at(std::string_view file, std::uint64_t offset) {
  return format::load_le<std::uint32_t>(reinterpret_cast<const std::byte*>(file.data() + offset));
}

std::uint32_t crc32(std::string_view bytes) {
  boost::crc_32_type crc;
  crc.process_bytes(bytes.data(), bytes.size());
  return crc.checksum();
}

// Bytes taken by `chars` UTF-8 characters starting at `offset`, or nullopt if
// they run past the end or are not UTF-8.
std::optional<std::uint64_t> utf8_span(std::string_view file, std::uint64_t offset,
                                       std::uint32_t chars) {
  std::uint64_t p = offset;
  for (std::uint32_t i = 0; i < chars; ++i) {
    if (p >= file.size()) return std::nullopt;
    const auto c = static_cast<unsigned char>(file[p]);
    const std::uint64_t n = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3
                          : (c & 0xf8) == 0xf0 ? 4 : 0;
    if (n == 0 || file.size() - p < n) return std::nullopt;
    p += n;
  }
  return p - offset;
}

}  // namespace

std::optional<Record> decode_at(std::string_view file, std::uint64_t offset, const char** why) {
  const char* ignored;
  if (why == nullptr) why = &ignored;
  if (offset > file.size() || file.size() - offset < kHeaderSize) {
    *why = "truncated record header";
    return std::nullopt;
  }
  Record r;
  r.offset = offset;
  r.crc = u32_at(file, offset);
  r.write_time = u32_at(file, offset + 4);
  r.expiry = u32_at(file, offset + 8);
  const std::uint32_t deleted = u32_at(file, offset + 12);
  r.key_length = u32_at(file, offset + 16);
  r.value_length = u32_at(file, offset + 20);
  if (deleted > 1) {
    *why = "deleted flag is neither 0 nor 1";
    return std::nullopt;
  }
  r.deleted = deleted == 1;
  if (r.key_length == 0 || r.key_length > kMaxKeyLength) {
    *why = "impossible key length";
    return std::nullopt;
  }
  const std::uint64_t body = offset + kHeaderSize;
  const std::uint64_t room = file.size() - body;
  auto accept = [&](std::uint64_t key_bytes, std::uint64_t value_bytes) {
    r.key = file.substr(body, key_bytes);
    r.value = file.substr(body + key_bytes, value_bytes);
    r.size = kHeaderSize + key_bytes + value_bytes;
    return crc32(r.value) == r.crc && is_valid_utf8(r.key) && is_valid_utf8(r.value);
  };
  // Lengths as bytes.
  const bool fits = std::uint64_t{r.key_length} + r.value_length <= room;
  if (fits && accept(r.key_length, r.value_length)) return r;
  // Lengths as characters (the original's mistake with non-ASCII text).
  if (const auto key_bytes = utf8_span(file, body, r.key_length)) {
    if (const auto value_bytes = utf8_span(file, body + *key_bytes, r.value_length)) {
      if ((*key_bytes != r.key_length || *value_bytes != r.value_length) &&
          accept(*key_bytes, *value_bytes)) {
        r.char_lengths = true;
        return r;
      }
    }
  }
  *why = fits ? "checksum mismatch or invalid UTF-8" : "record runs past the end of the file";
  return std::nullopt;
}

bool looks_like_python_pyk(std::string_view file) {
  if (file.size() < kHeaderSize) return false;
  const auto magic = file.substr(0, 8);
  if (magic == format::kDataMagic || magic == format::kHintMagic) return false;
  return decode_at(file, 0, nullptr).has_value();
}

Reader::Step Reader::next() {
  if (position_ >= file_.size()) return Step::end;
  const char* why = nullptr;
  if (auto r = decode_at(file_, position_, &why)) {
    record_ = *r;
    position_ += r->size;
    return Step::record;
  }
  std::uint64_t next = position_ + 1;
  while (next < file_.size() && !decode_at(file_, next, nullptr)) ++next;
  damage_ = {position_, next - position_, why, next >= file_.size()};
  position_ = next;
  return Step::damage;
}

}  // namespace pyk::tools::python_pyk
