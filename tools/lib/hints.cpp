#include "tools/lib/hints.h"

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

HintCheck check_hint_image(Directory& directory, std::uint32_t id, std::span<const std::byte> bytes) {
  HintCheck result;
  const std::string datafile = filename::data(id);
  std::uint64_t data_size = 0;
  if (directory.exists(datafile)) {
    data_size = directory.open(datafile, OpenMode::read_only)->size();
    result.against_datafile = true;
  } else {
    data_size = claimed_data_size(bytes).value_or(0);
  }
  result.problem = hint::check(bytes, id, data_size, result.entries);
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
