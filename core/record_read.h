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
#include "core/keydir_memory.h"
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
// The same for a record already read into `out` (location.size bytes, e.g.
// by Segment::read_many): checks it and cuts `out` down to its value.
void value_of_record_in(const Segment& segment, const Location& location, std::string_view key,
                        std::string& out);
// The same, held by `pinned.keep_alive`: valid whatever happens to the store.
CheckedRecord read_pinned_record(const Segment& segment, const Location& location,
                                 std::string_view key);

// Prefetch hints for records about to be read from a zero-copy segment
// (Segment::prefetch), and the one rule for how much of a record to ask for.
// A record read some steps ahead: its head (header, key, the value's first
// bytes); the hardware prefetcher follows on from there within a page.
inline constexpr std::size_t kRecordHeadBytes = 256;
inline void prefetch_head(const Segment& segment, std::uint64_t offset, std::size_t size) {
  segment.prefetch(offset, std::min(size, kRecordHeadBytes));
}
// A record read next, when it is longer than its head: the hardware
// prefetcher stops at every 4 KiB page and starts again only on the next
// miss, so a value over pages arrives page by page unless all of its lines
// are asked for at once (4 KiB values on mmap: get +29-35%, get_many +25-30%,
// for_each +4-12%).
inline void prefetch_whole(const Segment& segment, std::uint64_t offset, std::size_t size) {
  if (size > kRecordHeadBytes) segment.prefetch(offset, size);
}

// Where one record of a segment lies: its offset in the high half, so
// refs sort in file order. 8 bytes: for_each holds one per live key.
struct RecordRef {
  std::uint64_t packed;
  static RecordRef of(const Location& l) { return {std::uint64_t{l.offset} << 32 | l.size}; }
  std::uint32_t offset() const { return static_cast<std::uint32_t>(packed >> 32); }
  std::uint32_t size() const { return static_cast<std::uint32_t>(packed); }
};

// A segment the store holds, as for_each sees it when it starts.
struct HeldSegment {
  std::uint32_t id;
  std::uint64_t size;  // the records the keydir points at end within it
};

// The records of many segments, grouped by segment in ascending id and,
// within a segment, by the 1 MiB region of the file each starts in: what
// for_each reads. Built by two passes over the locations (counting, then
// placing), so it takes 8 bytes per record (and 8 per region) and nothing
// more, and the places are a sort by region already: each region's refs (a
// few thousand, in cache) are then sorted on their own (sort_in_file_order).
struct RecordsBySegment {
  static constexpr int kRegionShift = 20;
  std::vector<std::uint32_t> ids;             // the segments named, ascending
  std::vector<std::size_t> first_region;      // segment i's regions: [first_region[i], first_region[i + 1])
  std::vector<std::size_t> ends;              // region r is refs[begin(r), ends[r])
  std::vector<RecordRef, keydir_memory::PopulatedAllocator<RecordRef>> refs;

  std::size_t begin(std::size_t region) const { return region == 0 ? 0 : ends[region - 1]; }
  std::span<RecordRef> region(std::size_t r) { return std::span(refs).subspan(begin(r), ends[r] - begin(r)); }
  // Segment i's refs, region after region.
  std::span<RecordRef> group(std::size_t i) {
    const std::size_t from = begin(first_region[i]), to = begin(first_region[i + 1]);
    return std::span(refs).subspan(from, to - from);
  }

  // for_each_location(fn) calls fn(const Location&) for each record: the
  // same ones both times it is called. `held` lists the segments, ascending
  // by id; a location in another segment throws Error.
  template <class ForEachLocation>
  static RecordsBySegment build(const std::vector<HeldSegment>& held, ForEachLocation&& for_each_location) {
    RecordsBySegment out;
    out.first_region.push_back(0);
    for (const HeldSegment& segment : held) {
      out.ids.push_back(segment.id);
      out.first_region.push_back(out.first_region.back() + (segment.size >> kRegionShift) + 1);
    }
    out.ends.assign(out.first_region.back(), 0);
    std::size_t last = 0;
    const auto region_of = [&](const Location& l) {  // records come in runs of one segment
      if (last >= held.size() || held[last].id != l.segment) {
        const auto it = std::lower_bound(held.begin(), held.end(), l.segment,
                                          [](const HeldSegment& s, std::uint32_t id) { return s.id < id; });
        if (it == held.end() || it->id != l.segment) throw_not_held(l.segment);
        last = static_cast<std::size_t>(it - held.begin());
      }
      // One past the end (which no keydir entry should be) joins the last
      // region, where its read reports it.
      const std::size_t regions = out.first_region[last + 1] - out.first_region[last];
      return out.first_region[last] + std::min<std::size_t>(l.offset >> kRegionShift, regions - 1);
    };
    for_each_location([&](const Location& l) { ++out.ends[region_of(l)]; });
    std::size_t total = 0;
    for (std::size_t& end : out.ends) total = (end += total);  // counts to ends; `total` runs on
    out.refs.resize(total);
    std::vector<std::size_t> next(out.ends.size());
    for (std::size_t r = 0; r < next.size(); ++r) next[r] = out.begin(r);
    for_each_location([&](const Location& l) { out.refs[next[region_of(l)]++] = RecordRef::of(l); });
    return out;
  }
  [[noreturn]] static void throw_not_held(std::uint32_t id);
};

// Sorts `refs`, the refs of one region, into file order (a radix sort by
// offset), using `spare` (resized as needed) as its buffer.
void sort_in_file_order(std::span<RecordRef> refs, std::vector<RecordRef>& spare);

// Calls fn for each record of `refs` (in file order) of `segment`, reading
// runs of neighbouring records with one read of up to 1 MiB rather than one
// read per record. A record that fails its check goes to `damaged` instead
// (the walk goes on). False once fn returned false (the walk stopped).
bool read_in_file_order(const Segment& segment, std::span<const RecordRef> refs,
                        const std::function<bool(const CheckedRecord&)>& fn,
                        const std::function<void(const CorruptionError&)>& damaged);

}  // namespace pyk
