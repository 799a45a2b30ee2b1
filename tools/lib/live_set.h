// Which records of a store are live: the ones the keydir would point at
// after Store::open replays the datafiles, read like recovery reads them
// (LogReader: a batch applies whole or not at all) but tolerant of damage.
// pyk-dump --live, export and pyk-fsck --repair's preview use it.
//
// Damage never makes an older value current: a key whose newest record is
// damaged, cut off or in a lost segment is "damaged" (unless a newer record
// follows). Its key is named from the segment's hint file (whose entries are
// each key's newest record there), else from the damaged record's header
// when that still reads; damage no key can be pinned on is counted.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "core/directory.h"

namespace pyk::tools {

// (datafile name, record offset) of every live record.
using LiveSet = std::set<std::pair<std::string, std::uint64_t>>;

// One datafile to replay, in replay order.
struct ReplaySegment {
  std::string name;
  std::uint32_t id = 0;
  bool present = true;       // false: listed in the manifest, but gone
  bool tail_allowed = false; // the active segment: Store::open cuts a torn tail, which hides nothing
  std::optional<std::uint64_t> listed_length;  // a sealed segment's length in the manifest
};

struct DamagedKey {
  std::string file;  // where its newest record was
  std::uint64_t offset = 0;
  std::string reason;
};

struct LiveView {
  LiveSet live;
  // Keys whose newest record is damaged or lost: shown nowhere with an older value.
  std::map<std::string, DamagedKey> damaged;
  std::uint64_t unattributed = 0;  // damaged regions (outside a torn tail) with no key named
  // Where each live key's record is, for comparing two views.
  std::map<std::string, std::pair<std::string, std::uint64_t>> where;
};

// The store's datafiles the way Store::open takes them: those its manifest
// lists (missing ones included), or every datafile of a store without one,
// in replay order. Throws IoError.
std::vector<ReplaySegment> store_segments(Directory& directory);

// Replays `segments` and keeps each key's newest value record, unless a
// tombstone followed it or it expired at `now_micros`. With `attribute`
// false, damage is skipped as if absent (what a repair that drops it leaves).
// Throws IoError.
LiveView live_view(Directory& directory, const std::vector<ReplaySegment>& segments,
                   std::uint64_t now_micros, bool attribute = true);

// The live set of datafiles `names` replayed in that order, damage skipped.
LiveSet live_records(Directory& directory, const std::vector<std::string>& names,
                     std::uint64_t now_micros);

}  // namespace pyk::tools
