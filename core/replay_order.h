// The order in which a store's datafiles are replayed (format.h, "Replay
// order"). Store::open and the tools (pyk-dump --live, export, pyk-fsck)
// share it, so they agree on which record of a key is the newest.
#pragma once

#include <compare>
#include <cstdint>
#include <vector>

#include "core/directory.h"
#include "core/format.h"

namespace pyk {

struct ReplayPosition {
  std::uint32_t rank = 0;  // the merge rank if set, else the segment id
  std::uint32_t id = 0;
  std::uint64_t size = 0;  // the datafile's size when its header was read
  auto operator<=>(const ReplayPosition&) const = default;  // (rank, id): oldest first
};

// The replay rank of datafile `id` whose header decoded as `header`.
inline std::uint32_t replay_rank(const format::FileHeader& header, std::uint32_t id) {
  return header.merge_rank != 0 ? header.merge_rank : id;
}

// Reads the header of datafile `id`: its replay rank, or `id` when the header
// is short or damaged (whoever loads the file judges the damage). Throws IoError.
std::uint32_t read_replay_rank(Directory& directory, std::uint32_t id);
// The same, with the datafile's size.
ReplayPosition read_replay_position(Directory& directory, std::uint32_t id);

// Every datafile of `directory`, in replay order (oldest first). Throws IoError.
std::vector<ReplayPosition> replay_order(Directory& directory);

}  // namespace pyk
