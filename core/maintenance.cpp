// The store's maintenance jobs (run by MaintenanceQueue's thread): hint
// files for sealed segments, spare segments and automatic merges.
#include <algorithm>

#include "core/error.h"
#include "core/filename.h"
#include "core/hint_file.h"
#include "core/store_impl.h"

namespace pyk {

void Store::Impl::run_job(const Job& job) {
  std::lock_guard maintenance(maintenance_mutex_);
  if (job.kind == Job::Kind::hint) {
    // A hint only ever describes a durable datafile.
    if (sync_sealed(job.segment_id)) write_manifest();  // now listed sealed, at its exact length
    write_hint(job.segment_id);
  } else if (job.kind == Job::Kind::spare) {
    make_spares();
  } else if (auto ids = merge_candidates(); !ids.empty()) {
    // The trigger says when; the inputs are its segments and those past the thresholds.
    for (const std::uint32_t id : merge_inputs())
      if (std::find(ids.begin(), ids.end(), id) == ids.end()) ids.push_back(id);
    merge_in_groups(std::move(ids));
  }
}

void Store::Impl::merge_in_groups(std::vector<std::uint32_t> ids) {
  // A group at a time, oldest first, each about one output segment of live
  // data and a whole merge (outputs durable, keydir switched, inputs
  // removed): close then stops only the group in progress, where it used to
  // throw away every output of a merge of many segments (throttled, a few
  // seconds per segment), and a later group copies only what is still live
  // when it starts.
  for (;;) {
    std::vector<std::uint32_t> group;
    {
      std::shared_lock state_lock(state_mutex_);
      group = segments_.next_merge_group(ids, options_.max_segment_size, now_micros());
    }
    if (group.empty()) return;
    std::erase_if(ids, [&](std::uint32_t id) { return std::find(group.begin(), group.end(), id) != group.end(); });
    try {
      merge_segments(group, /*throttled=*/true);
    } catch (const MergeStopped&) {  // its unfinished output is gone, its inputs kept
      log("automatic merge stopped: the store is closing");
      return;
    }
  }
}

void Store::Impl::write_hint(std::uint32_t id, Superseded superseded,
                             const hint::DurableFn& durable) {
  std::shared_ptr<Segment> segment;
  {
    std::shared_lock state_lock(state_mutex_);
    const SegmentSet::Entry* entry = segments_.find(id);
    if (entry == nullptr) return;  // merged away since it was queued
    segment = entry->segment;
  }
  if (superseded == Superseded::listed) {
    hint::write(*directory_, id, *segment, {}, durable);
    return;
  }
  // Values a later record of the same segment replaces are left out: the
  // keydir points at that later record. Only the same segment counts: it is
  // durable as a whole before its hint is written, whereas a newer segment
  // may still lose its tail to a power cut, and the older value with it.
  hint::write(*directory_, id, *segment,
              [this, id, keys = std::vector<std::string_view>(), found = std::vector<std::optional<Location>>()](
                  std::span<const hint::HintQuery> queries, std::vector<bool>& superseded) mutable {
                keys.clear();
                for (const hint::HintQuery& q : queries) keys.push_back(q.key);
                found.resize(keys.size());
                // Through the read gate, as gets look up: a put then spins
                // for a few lookups to end instead of sleeping in state_mutex_
                // (the futex wait and wake-up cost a busy writer ~10%).
                constexpr std::size_t kPerLookup = 64;
                for (std::size_t base = 0; base < keys.size(); base += kPerLookup) {
                  const std::size_t n = std::min(kPerLookup, keys.size() - base);
                  gate_.lookup(state_mutex_, [&] {
                    keydir_.find_many(std::span(keys).subspan(base, n), std::span(found).subspan(base, n));
                  });
                }
                for (std::size_t i = 0; i < queries.size(); ++i) {
                  const auto& at = found[i];
                  superseded[i] = at && at->segment == id && at->offset != queries[i].offset;
                }
              },
              durable);
}

bool Store::Impl::sync_sealed(std::uint32_t id) {
  auto listed = [&] {
    return std::find_if(unsynced_.begin(), unsynced_.end(), [&](const auto& e) { return e.first == id; });
  };
  std::shared_ptr<Segment> segment;
  {
    std::lock_guard write_lock(write_mutex_);
    const auto it = listed();
    if (it == unsynced_.end()) return false;  // not sealed by a rotation (scanned at open, say)
    segment = it->second;
  }
  segment->sync();  // under no lock: writers go on meanwhile
  {
    std::lock_guard write_lock(write_mutex_);
    if (const auto it = listed(); it != unsynced_.end()) unsynced_.erase(it);
    StateWriteLock state_lock(*this);
    if (SegmentSet::Entry* entry = segments_.find(id)) entry->unsynced = false;
  }
  return true;
}

void Store::Impl::make_spares() {
  spare_job_queued_ = false;  // a rotation from now on asks again
  // Asked for while an earlier job was failing, before it said so: not
  // tried again until the writer has made a segment of its own.
  if (spares_failing_) return;
  try {
    make_spares_until_enough();
  } catch (...) {
    spares_failing_ = true;
    throw;
  }
}

void Store::Impl::make_spares_until_enough() {
  for (;;) {
    {
      std::lock_guard write_lock(write_mutex_);
      if (!writer_ || writer_->spare_count() >= writer_->spares_wanted()) return;
    }
    // Made under no lock: its syncs (and the manifest's) are what a
    // rotation must not wait for.
    const std::uint32_t id = next_segment_id_++;
    std::optional<std::string> unfinished;
    std::shared_ptr<Segment> segment;
    try {
      segment = LogWriter::create_segment(*directory_, id, options_.max_segment_size, unfinished);
    } catch (...) {
      if (unfinished) log(*unfinished + " is left half-made: the next open removes or ignores it");
      throw;
    }
    {
      StateWriteLock state_lock(*this);
      spare_ids_.push_back(id);
    }
    try {
      write_manifest();  // listed before any record goes in
    } catch (...) {
      // The manifest on disk may list it or not: the file stays (empty, with
      // a durable header), but no rotation takes it.
      StateWriteLock state_lock(*this);
      std::erase(spare_ids_, id);
      throw;
    }
    bool taken;
    {
      std::lock_guard write_lock(write_mutex_);
      taken = writer_->add_spare(id, std::move(segment));
    }
    if (!taken) {  // a rotation started a segment of its own meanwhile
      drop_spares({id});
      return;
    }
  }
}

void Store::Impl::drop_spares(const std::vector<std::uint32_t>& ids) {
  if (ids.empty()) return;
  {
    StateWriteLock state_lock(*this);
    for (const std::uint32_t id : ids) std::erase(spare_ids_, id);
  }
  write_manifest();  // unlisted before removed; if this throws, the files stay
  for (const std::uint32_t id : ids) directory_->remove(filename::data(id));
}

std::vector<std::uint32_t> Store::Impl::merge_inputs() const {
  const std::uint64_t now = now_micros();
  std::shared_lock state_lock(state_mutex_);
  if (options_.merge_input_dead_fraction == 0 && options_.merge_input_dead_bytes == 0) {
    std::uint64_t dead = 0;
    std::vector<std::uint32_t> ids = segments_.sealed(&dead);
    if (dead == 0 && segments_.expiring_keys() == 0) ids.clear();  // nothing to reclaim
    return ids;
  }
  return segments_.merge_candidates(options_.merge_input_dead_fraction,
                                    options_.merge_input_dead_bytes, now);
}

std::vector<std::uint32_t> Store::Impl::merge_candidates() const {
  const std::uint64_t now = now_micros();
  std::shared_lock state_lock(state_mutex_);
  return segments_.merge_candidates(options_.merge_dead_fraction, options_.merge_dead_bytes, now);
}

}  // namespace pyk
