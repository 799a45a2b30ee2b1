// Reading records back by their keydir location, the CRC checked on every
// read: a get's single record, and for_each's walk over many records in file
// order (neighbouring records in one read).
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
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

// Where one record of a segment lies: its offset in the high half, so
// refs sort in file order. 8 bytes: for_each holds one per live key.
struct RecordRef {
  std::uint64_t packed;
  static RecordRef of(const Location& l) { return {std::uint64_t{l.offset} << 32 | l.size}; }
  std::uint32_t offset() const { return static_cast<std::uint32_t>(packed >> 32); }
  std::uint32_t size() const { return static_cast<std::uint32_t>(packed); }
};

// The records of many segments, grouped by segment in ascending id: what
// for_each reads. Built by two passes over the locations (counting, then
// placing), so it takes 8 bytes per record and nothing more.
struct RecordsBySegment {
  std::vector<std::uint32_t> ids;  // the segments named, ascending
  std::vector<std::size_t> ends;   // group i is refs[begin(i), ends[i])
  std::vector<RecordRef> refs;

  std::size_t begin(std::size_t i) const { return i == 0 ? 0 : ends[i - 1]; }
  std::span<RecordRef> group(std::size_t i) { return std::span(refs).subspan(begin(i), ends[i] - begin(i)); }

  // for_each_location(fn) calls fn(const Location&) for each record: the
  // same ones both times it is called. `held` lists the segments' ids,
  // ascending; a location in another segment throws Error.
  template <class ForEachLocation>
  static RecordsBySegment build(std::vector<std::uint32_t> held, ForEachLocation&& for_each_location) {
    RecordsBySegment out;
    out.ids = std::move(held);
    out.ends.assign(out.ids.size(), 0);
    std::size_t last = 0;
    const auto group = [&](std::uint32_t id) {  // records come in runs of one segment
      if (last < out.ids.size() && out.ids[last] == id) return last;
      const auto it = std::lower_bound(out.ids.begin(), out.ids.end(), id);
      if (it == out.ids.end() || *it != id) throw_not_held(id);
      return last = static_cast<std::size_t>(it - out.ids.begin());
    };
    for_each_location([&](const Location& l) { ++out.ends[group(l.segment)]; });
    std::size_t total = 0;
    for (std::size_t& end : out.ends) total = (end += total);  // counts to ends; `total` runs on
    out.refs.resize(total);
    std::vector<std::size_t> next(out.ends.size());
    for (std::size_t i = 0; i < next.size(); ++i) next[i] = out.begin(i);
    for_each_location([&](const Location& l) { out.refs[next[group(l.segment)]++] = RecordRef::of(l); });
    return out;
  }
  [[noreturn]] static void throw_not_held(std::uint32_t id);
};

// Sorts `refs` into file order (an LSD radix sort over the bytes in which
// they differ), using `spare` (resized as needed) as its buffer.
void sort_in_file_order(std::span<RecordRef> refs, std::vector<RecordRef>& spare);

// Calls fn for each record of `refs` (in file order) of `segment`, reading
// runs of neighbouring records with one read of up to 1 MiB rather than one
// read per record. A record that fails its check goes to `damaged` instead
// (the walk goes on). False once fn returned false (the walk stopped).
bool read_in_file_order(const Segment& segment, std::span<const RecordRef> refs,
                        const std::function<bool(const CheckedRecord&)>& fn,
                        const std::function<void(const CorruptionError&)>& damaged);

}  // namespace pyk
