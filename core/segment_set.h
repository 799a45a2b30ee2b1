// SegmentSet: the datafiles of an open store — each with its replay rank and
// its accounting (live keys, live bytes, dead bytes) — and which one takes
// appends. Every keydir change is counted here, by put, batch, recovery and
// merge alike, so the per-segment figures that drive merge mean one thing.
// Live means what size() means: in the keydir and not expired. A record's
// expiry is kept with its segment's counts, so the figures asked for at a
// time `now` count the keys expired by then as dead.
//
// Not thread-safe: Store::Impl guards it, with the keydir, by state_mutex_.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <vector>

#include "core/keydir.h"
#include "core/manifest.h"
#include "core/segment.h"
#include "core/store.h"

namespace pyk {

class SegmentSet {
 public:
  struct Entry {
    std::shared_ptr<Segment> segment;
    SegmentStats stats;      // stats.active is filled in by report()
    std::uint32_t rank = 0;  // replay rank: the id, or a merge output's merge rank (format.h)
    bool hinted = false;     // loaded from its hint file at open
    // Merged away: left out of the manifest, its file about to be removed.
    bool retired = false;
    // The active segment's length in the manifest, a minimum (format.h).
    std::uint64_t min_length = 0;
    // Sealed by a rotation without a sync (the background syncs it): listed
    // in the manifest as unsynced, with min_length, until then.
    bool unsynced = false;
    // The keys and bytes among stats.live_* that expire, by expiry time.
    std::map<std::uint64_t, std::pair<std::uint64_t, std::uint64_t>> expiring;
  };

  // Adds segment `id`; its stats start at its current size with nothing live.
  Entry& add(std::uint32_t id, std::shared_ptr<Segment> segment, std::uint32_t rank);
  // Remove segments and hand them back: a reader may still be on them, so
  // the caller destroys them only after ReadGate::wait_for_reads().
  [[nodiscard]] std::shared_ptr<Segment> remove(std::uint32_t id);
  [[nodiscard]] std::vector<std::shared_ptr<Segment>> clear();
  // Puts `segment` in place of segment `id`'s handle (a newer handle on the
  // same file); returns the old one, to be destroyed as remove's.
  // REQUIRES: id is in the set.
  [[nodiscard]] std::shared_ptr<Segment> replace(std::uint32_t id, std::shared_ptr<Segment> segment);

  Entry* find(std::uint32_t id);
  const Entry* find(std::uint32_t id) const;
  // The segment holding records of `id`. REQUIRES: id is in the set.
  const std::shared_ptr<Segment>& segment(std::uint32_t id) const { return entries_.at(id).segment; }
  // The get path's lookup: segment `id` (null if not in the set) by one
  // index into a dense table, no map walk and no reference count (ReadGate
  // keeps it alive).
  const Segment* find_segment(std::uint32_t id) const {
    const std::uint32_t i = id - first_id_;  // ids below first_id_ wrap past the end
    if (i < by_id_.size()) return by_id_[i];
    if (!sparse_) return nullptr;
    const Entry* entry = find(id);
    return entry != nullptr ? entry->segment.get() : nullptr;
  }
  // Every segment, oldest first in replay order (rank, id).
  std::vector<const Entry*> in_replay_order() const;
  std::map<std::uint32_t, std::shared_ptr<Segment>> segments() const;

  // The segment taking appends: its entry is cached (the put path looks it
  // up for every record; map nodes never move). Null once sealed, as a merge
  // may then remove it.
  void set_active(std::uint32_t id);
  void clear_active() { active_ = nullptr; }
  Entry* active() { return active_; }
  bool is_active(std::uint32_t id) const { return active_ != nullptr && active_->stats.id == id; }

  // --- accounting of keydir changes ------------------------------------------
  // `home` received a value record at `added`, which replaced `replaced`.
  void count_put(Entry& home, const std::optional<Location>& replaced, const Location& added);
  // `home` received a tombstone of `size` bytes, which erased `replaced`.
  void count_erase(Entry& home, const std::optional<Location>& replaced, std::uint32_t size);
  // `keys` records of `bytes` in all, none of them expiring, are live in
  // `home` (the keydir snapshot's keys, counted per segment as it loads).
  void count_live(Entry& home, std::uint64_t keys, std::uint64_t bytes) {
    home.stats.live_keys += keys;
    home.stats.live_bytes += bytes;
  }
  // Bytes in `home` that never hold a live record (a batch header).
  void count_dead(Entry& home, std::uint64_t bytes) { home.stats.dead_bytes += bytes; }
  // Merge pointed a key at its copy `to`, away from `from`.
  void count_move(const Location& from, const Location& to);
  // Merge dropped an expired key whose record is `from`.
  void count_expired_drop(const Location& from);
  // After a replay: every byte that is neither file header nor live is dead
  // (segments loaded from hints never saw their dead records).
  void derive_dead_bytes();

  // Keys in the keydir that carry an expiry.
  std::uint64_t expiring_keys() const { return expiring_keys_; }

  // --- what maintenance and stats() see ----------------------------------------
  // Sealed segments (every one but the active and the retired), and their
  // dead bytes in total.
  std::vector<std::uint32_t> sealed(std::uint64_t* dead_bytes = nullptr) const;
  // Sealed segments, not retired, whose dead fraction reaches `fraction` (if
  // > 0) or whose dead bytes reach `bytes` (if > 0), keys expired at `now`
  // counting as dead.
  std::vector<std::uint32_t> merge_candidates(double fraction, std::uint64_t bytes,
                                              std::uint64_t now = 0) const;
  // The next group of a merge done a group at a time: the oldest in replay
  // order of `ids` that is still a sealed segment, then the ones after it
  // (skipping the segments not in `ids`) while their live bytes at `now`
  // add up to at most `live_bytes`. Empty once no id is left.
  std::vector<std::uint32_t> next_merge_group(const std::vector<std::uint32_t>& ids,
                                              std::uint64_t live_bytes, std::uint64_t now = 0) const;
  // Adds each segment's stats at `now` (replay order) and the disk bytes to `out`.
  void report(Stats& out, std::uint64_t now = 0) const;
  // Segment `entry`'s stats with the keys expired at `now` moved to dead.
  static SegmentStats at(const Entry& entry, std::uint64_t now);
  // What the manifest lists: every segment but the retired ones, ascending
  // id; the active one with its minimum length, the sealed ones with their size.
  std::vector<ManifestEntry> listing() const;

 private:
  // Adds (+1) or takes away (-1) a record at `l` from its segment's `expiring`.
  void track_expiry(Entry& home, const Location& l, int sign);
  void index();  // rebuilds by_id_ after an add or remove

  std::map<std::uint32_t, Entry> entries_;
  // find_segment's table: by_id_[id - first_id_], null for ids not in the set
  // (merged away). Spans the live ids, oldest to newest, unless they lie
  // too far apart (ids named by hand): then it is empty, sparse_ is set, and
  // find_segment looks in the map.
  std::vector<const Segment*> by_id_;
  std::uint32_t first_id_ = 0;
  bool sparse_ = false;
  Entry* active_ = nullptr;
  std::uint64_t expiring_keys_ = 0;
};

}  // namespace pyk
