#include "tools/lib/hints.h"

#include <algorithm>
#include <memory>
#include <string_view>
#include <vector>

#include "core/file_header.h"
#include "core/filename.h"
#include "core/format.h"
#include "core/hint_file.h"

namespace pyk::tools {

std::optional<std::uint64_t> claimed_data_size(std::span<const std::byte> bytes) {
  if (bytes.size() < format::kFileHeaderSize + format::kHintEndSize) return std::nullopt;
  format::HintEntry end;
  std::size_t size = 0;
  if (format::decode_hint_entry(bytes.last(format::kHintEndSize), end, size) != nullptr ||
      end.type != format::HintType::end)
    return std::nullopt;
  return end.offset;
}

namespace {

// For a hint that hint::check passed against `data`: whether each entry
// names a record of it, at its offset, of its size, type, expiry and key.
// hint::check judges a hint by its own bytes and the datafile's size, as
// Store::open does (a wrong entry costs open nothing: the get's checks
// refuse the record); a hint of another datafile of the same size passes it.
const char* entry_off_its_record(const Segment& data, std::span<const std::byte> bytes) {
  std::span<const std::byte> rest = bytes.subspan(format::kFileHeaderSize);
  std::vector<std::byte> scratch;
  for (;;) {
    format::HintEntry e;
    std::size_t size = 0;
    if (format::decode_hint_entry(rest, e, size) != nullptr || e.type == format::HintType::end) return nullptr;
    rest = rest.subspan(size);
    scratch.resize(e.record_size);
    const std::span<const std::byte> record = data.read(e.offset, e.record_size, scratch);
    const format::RecordHeader h = format::decode_record_header(record.data());
    const auto type = e.type == format::HintType::value ? format::RecordType::value : format::RecordType::tombstone;
    const std::string_view key(reinterpret_cast<const char*>(record.data()) + format::kRecordHeaderSize,
                               std::min<std::size_t>(h.key_size, record.size() - format::kRecordHeaderSize));
    if (h.type != type || h.record_size() != e.record_size || h.expiry != e.expiry || key != e.key)
      return "an entry does not match the record at its offset (a hint of another datafile?)";
  }
}

}  // namespace

HintCheck check_hint_image(Directory& directory, std::uint32_t id, std::span<const std::byte> bytes) {
  HintCheck result;
  const std::string datafile = filename::data(id);
  std::unique_ptr<Segment> data;
  std::uint64_t data_size = 0;
  if (directory.exists(datafile)) {
    data = directory.open(datafile, OpenMode::read_only);
    data_size = data->size();
    result.against_datafile = true;
  } else {
    data_size = claimed_data_size(bytes).value_or(0);
  }
  result.problem = hint::check(bytes, id, data_size, result.entries);
  if (result.problem == nullptr && data) result.problem = entry_off_its_record(*data, bytes);
  return result;
}

std::uint32_t hint_segment_id(const std::string& name, std::span<const std::byte> bytes) {
  const auto parsed = filename::parse(name);
  if (parsed.kind == filename::Kind::hint) return parsed.segment_id;
  const FileHeaderCheck check = check_file_header(bytes, format::kHintMagic, 0);
  if (check.decoded() && check.header.segment_id <= UINT32_MAX)
    return static_cast<std::uint32_t>(check.header.segment_id);
  return 0;
}

}  // namespace pyk::tools
