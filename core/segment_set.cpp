#include "core/segment_set.h"

#include <algorithm>
#include <utility>

#include "core/format.h"

namespace pyk {

SegmentSet::Entry& SegmentSet::add(std::uint32_t id, std::shared_ptr<Segment> segment,
                                   std::uint32_t rank) {
  Entry& entry = entries_[id];
  entry.stats.id = id;
  entry.stats.bytes = segment->size();
  entry.segment = std::move(segment);
  entry.rank = rank;
  index();
  return entry;
}

std::shared_ptr<Segment> SegmentSet::remove(std::uint32_t id) {
  if (is_active(id)) active_ = nullptr;
  const auto it = entries_.find(id);
  if (it == entries_.end()) return nullptr;
  std::shared_ptr<Segment> out = std::move(it->second.segment);
  entries_.erase(it);
  index();
  return out;
}

std::vector<std::shared_ptr<Segment>> SegmentSet::clear() {
  std::vector<std::shared_ptr<Segment>> out;
  for (auto& [id, entry] : entries_) out.push_back(std::move(entry.segment));
  active_ = nullptr;
  entries_.clear();
  index();
  return out;
}

std::shared_ptr<Segment> SegmentSet::replace(std::uint32_t id, std::shared_ptr<Segment> segment) {
  std::shared_ptr<Segment> old = std::exchange(entries_.at(id).segment, std::move(segment));
  index();
  return old;
}

void SegmentSet::index() {
  by_id_.clear();
  sparse_ = false;
  if (entries_.empty()) return;
  first_id_ = entries_.begin()->first;
  const std::size_t span = std::size_t{entries_.rbegin()->first - first_id_} + 1;
  if (span > 16 * entries_.size() + 4096) {
    sparse_ = true;
    return;
  }
  by_id_.resize(span, nullptr);
  for (const auto& [id, entry] : entries_) by_id_[id - first_id_] = entry.segment.get();
}

SegmentSet::Entry* SegmentSet::find(std::uint32_t id) {
  const auto it = entries_.find(id);
  return it == entries_.end() ? nullptr : &it->second;
}

const SegmentSet::Entry* SegmentSet::find(std::uint32_t id) const {
  const auto it = entries_.find(id);
  return it == entries_.end() ? nullptr : &it->second;
}

std::vector<const SegmentSet::Entry*> SegmentSet::in_replay_order() const {
  std::vector<const Entry*> out;
  out.reserve(entries_.size());
  for (const auto& [id, entry] : entries_) out.push_back(&entry);
  std::sort(out.begin(), out.end(), [](const Entry* a, const Entry* b) {
    return a->rank != b->rank ? a->rank < b->rank : a->stats.id < b->stats.id;
  });
  return out;
}

std::map<std::uint32_t, std::shared_ptr<Segment>> SegmentSet::segments() const {
  std::map<std::uint32_t, std::shared_ptr<Segment>> out;
  for (const auto& [id, entry] : entries_) out.emplace_hint(out.end(), id, entry.segment);
  return out;
}

void SegmentSet::set_active(std::uint32_t id) { active_ = &entries_.at(id); }

void SegmentSet::track_expiry(Entry& home, const Location& l, int sign) {
  if (l.expiry == 0) return;
  auto& [keys, bytes] = home.expiring[l.expiry];
  keys += sign;
  bytes += sign * std::int64_t{l.size};
  if (keys == 0) home.expiring.erase(l.expiry);
}

void SegmentSet::count_put(Entry& home, const std::optional<Location>& replaced,
                           const Location& added) {
  home.stats.live_keys += 1;
  home.stats.live_bytes += added.size;
  if (added.expiry != 0) ++expiring_keys_;
  track_expiry(home, added, +1);
  count_erase(home, replaced, 0);
}

void SegmentSet::count_erase(Entry& home, const std::optional<Location>& replaced,
                             std::uint32_t size) {
  home.stats.dead_bytes += size;  // a tombstone is dead weight from the start
  if (!replaced) return;
  // Often the same segment (an overwrite within the active one).
  Entry& was = replaced->segment == home.stats.id ? home : entries_.at(replaced->segment);
  track_expiry(was, *replaced, -1);
  SegmentStats& old = was.stats;
  old.live_keys -= 1;
  old.live_bytes -= replaced->size;
  old.dead_bytes += replaced->size;
  if (replaced->expiry != 0) --expiring_keys_;
}

void SegmentSet::count_move(const Location& from, const Location& to) {
  track_expiry(entries_.at(from.segment), from, -1);
  track_expiry(entries_.at(to.segment), to, +1);
  SegmentStats& was = entries_.at(from.segment).stats;
  was.live_keys -= 1;
  was.live_bytes -= from.size;
  was.dead_bytes += from.size;
  SegmentStats& now = entries_.at(to.segment).stats;
  now.live_keys += 1;
  now.live_bytes += to.size;
  now.dead_bytes -= to.size;  // a merge output counts as dead until its keys move in
}

void SegmentSet::count_expired_drop(const Location& from) {
  count_erase(entries_.at(from.segment), from, 0);
}

void SegmentSet::derive_dead_bytes() {
  for (auto& [id, entry] : entries_) {
    SegmentStats& st = entry.stats;
    st.dead_bytes =
        st.bytes - std::min<std::uint64_t>(st.bytes, format::kFileHeaderSize) - st.live_bytes;
  }
}

std::vector<std::uint32_t> SegmentSet::sealed(std::uint64_t* dead_bytes) const {
  std::vector<std::uint32_t> ids;
  std::uint64_t dead = 0;
  for (const auto& [id, entry] : entries_) {
    if (&entry == active_ || entry.retired) continue;
    ids.push_back(id);
    dead += entry.stats.dead_bytes;
  }
  if (dead_bytes != nullptr) *dead_bytes = dead;
  return ids;
}

SegmentStats SegmentSet::at(const Entry& entry, std::uint64_t now) {
  SegmentStats st = entry.stats;
  for (auto it = entry.expiring.begin(); it != entry.expiring.end() && it->first <= now; ++it) {
    st.live_keys -= it->second.first;
    st.live_bytes -= it->second.second;
    st.dead_bytes += it->second.second;
  }
  return st;
}

std::vector<std::uint32_t> SegmentSet::merge_candidates(double fraction, std::uint64_t bytes,
                                                        std::uint64_t now) const {
  std::vector<std::uint32_t> ids;
  for (const auto& [id, entry] : entries_) {
    const SegmentStats st = at(entry, now);
    if (&entry == active_ || entry.retired || st.bytes <= format::kFileHeaderSize) continue;
    const double dead_fraction =
        static_cast<double>(st.dead_bytes) / static_cast<double>(st.bytes - format::kFileHeaderSize);
    if ((fraction > 0 && dead_fraction >= fraction) || (bytes > 0 && st.dead_bytes >= bytes))
      ids.push_back(id);
  }
  return ids;
}

std::vector<std::uint32_t> SegmentSet::next_merge_group(const std::vector<std::uint32_t>& ids,
                                                        std::uint64_t live_bytes,
                                                        std::uint64_t now) const {
  std::vector<std::uint32_t> group;
  std::uint64_t total = 0;
  for (const Entry* entry : in_replay_order()) {
    if (entry == active_ || entry->retired ||
        std::find(ids.begin(), ids.end(), entry->stats.id) == ids.end())
      continue;
    const std::uint64_t live = at(*entry, now).live_bytes;
    if (!group.empty() && total + live > live_bytes) break;
    group.push_back(entry->stats.id);
    total += live;
  }
  return group;
}

void SegmentSet::report(Stats& out, std::uint64_t now) const {
  for (const Entry* entry : in_replay_order()) {
    out.segments.push_back(at(*entry, now));
    out.segments.back().active = entry == active_;
    out.disk_bytes += entry->stats.bytes;
  }
}

std::vector<ManifestEntry> SegmentSet::listing() const {
  std::vector<ManifestEntry> out;
  for (const auto& [id, entry] : entries_) {
    if (entry.retired) continue;
    const bool active = &entry == active_;
    const bool unsynced = !active && entry.unsynced;
    out.push_back({.id = id,
                   .active = active,
                   .length = active || unsynced ? entry.min_length : entry.segment->size(),
                   .unsynced = unsynced});
  }
  return out;
}

}  // namespace pyk
