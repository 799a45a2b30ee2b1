// The store's maintenance jobs (run by MaintenanceQueue's thread): hint
// files for sealed segments and automatic merges.
#include "core/error.h"
#include "core/filename.h"
#include "core/hint_file.h"
#include "core/store_impl.h"

namespace pyk {

void Store::Impl::run_job(const Job& job) {
  std::lock_guard maintenance(maintenance_mutex_);
  if (job.kind == Job::Kind::hint) {
    write_hint(job.segment_id);
  } else if (const auto ids = merge_candidates(); !ids.empty()) {
    merge_segments(ids);
  }
}

void Store::Impl::write_hint(std::uint32_t id) {
  std::shared_ptr<Segment> segment;
  {
    std::shared_lock state_lock(state_mutex_);
    const SegmentSet::Entry* entry = segments_.find(id);
    if (entry == nullptr) return;  // merged away since it was queued
    segment = entry->segment;
  }
  hint::write(*directory_, id, *segment);
}

std::vector<std::uint32_t> Store::Impl::merge_candidates() const {
  const std::uint64_t now = now_micros();
  std::shared_lock state_lock(state_mutex_);
  return segments_.merge_candidates(options_.merge_dead_fraction, options_.merge_dead_bytes, now);
}

}  // namespace pyk
