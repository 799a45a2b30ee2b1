// The keydir snapshot's side of Store::Impl: saved by close, loaded by open
// (format.h "Keydir snapshot"; core/keydir_snapshot.h says when it is used).
#include <algorithm>

#include "core/error.h"
#include "core/filename.h"
#include "core/keydir_snapshot.h"
#include "core/store_impl.h"

namespace pyk {

bool Store::Impl::load_snapshot(const std::vector<ReplayPosition>& order) {
  snapshot_generation_ = 0;
  if (!manifest_ || !options_.keydir_snapshot) return false;
  std::vector<keydir_snapshot::SegmentSize> sizes;
  for (const auto& position : order) {
    // It stands in for the hints: a segment without one is scanned (every
    // record checked), which the snapshot must not skip.
    if (!directory_->exists(filename::hint(position.id))) {
      if (directory_->exists(std::string(filename::kKeydirSnapshot)))
        log(std::string(filename::kKeydirSnapshot) + " not used: " + filename::data(position.id) +
            " has no hint file; replaying the hint files and scanning it");
      return false;
    }
    sizes.push_back({position.id, position.size});
  }
  std::sort(sizes.begin(), sizes.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
  std::string problem;
  std::vector<Location> expiring;
  if (keydir_snapshot::load(*directory_, *manifest_, sizes, keydir_, expiring, problem)) {
    recovery_stats_.keys_from_snapshot = keydir_.size();
    snapshot_generation_ = manifest_->generation;
    snapshot_counts_ = {std::move(sizes), std::move(expiring)};
    return true;
  }
  if (problem != keydir_snapshot::kMissing)
    log(std::string(filename::kKeydirSnapshot) + " not used: " + problem + "; replaying the hint files");
  return false;
}

void Store::Impl::load_covered_by_snapshot(SegmentSet::Entry& state, std::uint64_t size) {
  // The writer holds the lock, so nothing has appended since the listing;
  // a read-only store beside a writer covers up to `size`, and refresh()
  // replays what follows.
  if (!options_.read_only && state.segment->size() != size)
    throw CorruptionError("datafile changed size while the store was being opened",
                          state.segment->describe(), size);
  state.stats.bytes = size;
  state.hinted = true;  // load_snapshot uses the snapshot only if every segment has its hint
}

void Store::Impl::count_snapshot_keys() {
  const auto home = [&](std::uint32_t id) -> SegmentSet::Entry& {
    SegmentSet::Entry* entry = segments_.find(id);
    // Only a segment with a damaged header is left out of the set (recovery
    // mode point_in_time set it aside): the snapshot cannot be trusted then.
    if (entry == nullptr)
      throw CorruptionError("the keydir snapshot points into segment " + std::to_string(id) +
                                ", which did not open",
                            directory_->describe() + "/" + filename::data(id), 0);
    return *entry;
  };
  auto& [sizes, expiring] = snapshot_counts_;
  for (const auto& s : sizes)
    if (s.live_keys != 0) segments_.count_live(home(s.id), s.live_keys, s.live_bytes);
  for (const Location& l : expiring) segments_.count_put(home(l.segment), std::nullopt, l);
  snapshot_counts_ = {};
}

void Store::Impl::write_snapshot() {
  // Only for a store whose manifest lists every segment as it is, each one
  // synced: then the files it describes are what the next open finds, even
  // after a power cut, or their sizes tell that they are not. And only if
  // every segment is sealed with a hint: the snapshot then stands for the
  // replay of those hints, and trusts no more than they do. (A small active
  // segment left open at close is scanned at open, which checks each record.)
  //
  // Every segment changes the manifest when it is created, and a merge when
  // it lists its outputs: the snapshot open loaded still describes a store
  // whose manifest is the one it was loaded with.
  if (!options_.keydir_snapshot) {
    keydir_snapshot::remove(*directory_);  // none to go stale
    return;
  }
  if (!manifest_ || manifest_unsure_) return;
  if (snapshot_generation_ == manifest_->generation) return;  // KEYDIR is still exact
  const std::vector<keydir_snapshot::SegmentSize> sizes =
      manifest_listing() == manifest_->segments ? snapshot_sizes(manifest_->segments)
                                                 : std::vector<keydir_snapshot::SegmentSize>{};
  try {
    if (sizes.empty()) {
      keydir_snapshot::remove(*directory_);  // stale: no need to keep it on disk
      return;
    }
    keydir_snapshot::write(*directory_, keydir_, *manifest_, sizes);
  } catch (const std::exception& e) {  // only costs the next open its hint replay
    log("writing " + std::string(filename::kKeydirSnapshot) + " at close failed: " + e.what());
  }
}

std::vector<keydir_snapshot::SegmentSize> Store::Impl::snapshot_sizes(
    const std::vector<ManifestEntry>& listing, std::uint32_t hint_coming) const {
  std::vector<keydir_snapshot::SegmentSize> sizes;
  for (const ManifestEntry& entry : listing) {
    const SegmentSet::Entry* segment = segments_.find(entry.id);
    if (entry.open_ended() || segment == nullptr || segment->unsynced ||
        (entry.id != hint_coming && !directory_->exists(filename::hint(entry.id))))
      return {};
    sizes.push_back({entry.id, segment->segment->size()});
  }
  return sizes;
}

Store::Impl::ClosingSnapshot::ClosingSnapshot(Directory& directory, Manifest planned,
                                              std::future<void> written)
    : directory_(&directory), planned_(std::move(planned)), written_(std::move(written)) {}

Store::Impl::ClosingSnapshot::~ClosingSnapshot() {
  if (!written_.valid()) return;
  try {
    written_.wait();
    keydir_snapshot::discard(*directory_);
  } catch (...) {  // close is failing already; the next write removes a leftover
  }
}

Store::Impl::ClosingSnapshot Store::Impl::start_snapshot(std::uint32_t sealing) {
  if (!options_.keydir_snapshot || !manifest_ || manifest_unsure_) return {};
  // The manifest close writes once the hint is done: `sealing` listed sealed.
  Manifest planned{.generation = manifest_->generation + 1, .segments = manifest_listing()};
  for (ManifestEntry& entry : planned.segments)
    if (entry.id == sealing) entry = {.id = sealing, .length = segments_.find(sealing)->segment->size()};
  std::vector<keydir_snapshot::SegmentSize> sizes = snapshot_sizes(planned.segments, sealing);
  if (sizes.empty()) return {};
  // Nothing changes the keydir meanwhile: close holds the write lock, and
  // merges have stopped.
  auto written = std::async(std::launch::async, [this, planned, sizes = std::move(sizes)] {
    keydir_snapshot::write_unpublished(*directory_, keydir_, planned, sizes);
  });
  return ClosingSnapshot(*directory_, std::move(planned), std::move(written));
}

bool Store::Impl::finish_snapshot(ClosingSnapshot& pending) {
  if (!pending.started()) return false;
  std::future<void> written = std::move(pending.written_);
  try {
    written.get();
    const bool as_planned = manifest_ && !manifest_unsure_ &&
                            manifest_->generation == pending.planned_.generation &&
                            manifest_->same_segments(pending.planned_);
    if (!as_planned) {
      keydir_snapshot::discard(*directory_);
      return false;
    }
    keydir_snapshot::publish(*directory_);
    snapshot_generation_ = manifest_->generation;  // write_snapshot keeps it
  } catch (const std::exception& e) {  // only costs the next open its hint replay
    log("writing " + std::string(filename::kKeydirSnapshot) + " at close failed: " + e.what());
    try {
      keydir_snapshot::discard(*directory_);
    } catch (const std::exception&) {  // the next write removes a leftover
    }
  }
  return true;
}

}  // namespace pyk
