// Which records of a store are live: the ones the keydir would point at
// after Store::open replays the datafiles, read like recovery reads them
// (LogReader: a batch applies whole or not at all) but tolerant of damage,
// which is skipped instead of refused. pyk-dump --live and export show these.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "core/directory.h"

namespace pyk::tools {

// (datafile name, record offset) of every live record.
using LiveSet = std::set<std::pair<std::string, std::uint64_t>>;

// Replays datafiles `names` of `directory` in the order given (replay order,
// core/replay_order.h) and keeps each key's newest value record, unless a
// tombstone followed it or it expired at `now_micros`. Throws IoError.
LiveSet live_records(Directory& directory, const std::vector<std::string>& names,
                     std::uint64_t now_micros);

}  // namespace pyk::tools
