// Reading records back by their keydir location, the CRC checked on every
// read: a get's single record, and for_each's walk over many records in file
// order (neighbouring records in one read).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "core/keydir.h"
#include "core/segment.h"

namespace pyk {

struct CheckedRecord {
  std::string_view key;
  std::string_view value;
  PinnedBytes pinned;  // set by read_pinned_record only
};

// Checks the size and CRC of `record`, the bytes read at `offset` of
// `segment`, and points key and value into them. Throws CorruptionError.
CheckedRecord check_record(const Segment& segment, std::uint64_t offset,
                           std::span<const std::byte> record);

// The record at `location`. Key and value point into the segment's own
// memory (zero-copy backends; valid while the Segment lives) or into
// `scratch` (valid until it changes).
CheckedRecord read_record(const Segment& segment, const Location& location,
                          std::string& scratch);
// The value of `key`'s record at `location` in `out` (its capacity reused),
// with one copy: a backend without zero-copy reads the whole record straight
// into `out`, where its CRC is checked and the value moved to the front; a
// zero-copy one's value is copied out of its memory. A record that holds
// another key is a CorruptionError: whatever led the keydir there (a damaged
// hint or keydir snapshot, a bug), another key's value is never served. On
// a throw, `out` holds unspecified bytes.
void read_value_into(const Segment& segment, const Location& location, std::string_view key,
                     std::string& out);
// The same, held by `pinned.keep_alive`: valid whatever happens to the store.
CheckedRecord read_pinned_record(const Segment& segment, const Location& location,
                                 std::string_view key);

// Where one record lies, for read_in_file_order.
struct RecordRef {
  std::uint64_t position;  // segment id << 32 | offset: sorts in file order
  std::uint32_t size;
  static RecordRef of(const Location& l) { return {std::uint64_t{l.segment} << 32 | l.offset, l.size}; }
};

// Calls fn for each record of `refs` in file order, reading runs of
// neighbouring records with one read of up to 1 MiB rather than one read per
// record, until fn returns false. A record that fails its check goes to
// `damaged` instead (the walk goes on). Sorts `refs`. REQUIRES: `segments`
// holds every segment named.
void read_in_file_order(const std::map<std::uint32_t, std::shared_ptr<Segment>>& segments,
                        std::vector<RecordRef>& refs,
                        const std::function<bool(const CheckedRecord&)>& fn,
                        const std::function<void(const CorruptionError&)>& damaged);

}  // namespace pyk
