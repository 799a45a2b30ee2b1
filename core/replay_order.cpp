#include "core/replay_order.h"

#include <algorithm>

#include "core/file_header.h"
#include "core/filename.h"

namespace pyk {

ReplayPosition read_replay_position(Directory& directory, std::uint32_t id) {
  const auto segment = directory.open(filename::data(id), OpenMode::read_only);
  const FileHeaderCheck header = check_file_header(*segment, format::kDataMagic, id);
  return {header.ok() ? replay_rank(header.header, id) : id, id, segment->size()};
}

std::uint32_t read_replay_rank(Directory& directory, std::uint32_t id) {
  return read_replay_position(directory, id).rank;
}

std::vector<ReplayPosition> replay_order(Directory& directory) {
  std::vector<ReplayPosition> order;
  for (const auto& name : directory.list()) {
    const auto parsed = filename::parse(name);
    if (parsed.kind == filename::Kind::data)
      order.push_back(read_replay_position(directory, parsed.segment_id));
  }
  std::sort(order.begin(), order.end());
  return order;
}

}  // namespace pyk
