#include "core/replay_order.h"

#include <algorithm>
#include <array>

#include "core/filename.h"

namespace pyk {

std::uint32_t read_replay_rank(Directory& directory, std::uint32_t id) {
  auto segment = directory.open(filename::data(id), OpenMode::read_only);
  std::array<std::byte, format::kFileHeaderSize> bytes{};
  if (segment->size() < bytes.size()) return id;
  segment->read_into(0, bytes);
  format::FileHeader header;
  if (format::decode_file_header(bytes, header) != format::FileHeaderStatus::ok) return id;
  return replay_rank(header, id);
}

std::vector<ReplayPosition> replay_order(Directory& directory) {
  std::vector<ReplayPosition> order;
  for (const auto& name : directory.list()) {
    const auto parsed = filename::parse(name);
    if (parsed.kind == filename::Kind::data)
      order.push_back({read_replay_rank(directory, parsed.segment_id), parsed.segment_id});
  }
  std::sort(order.begin(), order.end());
  return order;
}

}  // namespace pyk
