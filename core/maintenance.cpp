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
  // Values a later record of the same segment replaces are left out: the
  // keydir points at that later record. Only the same segment counts: it is
  // durable as a whole before its hint is written, whereas a newer segment
  // may still lose its tail to a power cut, and the older value with it.
  hint::write(*directory_, id, *segment,
              [this, id](std::span<const hint::HintQuery> queries, std::vector<bool>& superseded) {
                std::shared_lock state_lock(state_mutex_);
                for (std::size_t i = 0; i < queries.size(); ++i) {
                  const auto at = keydir_.find(queries[i].key);
                  superseded[i] = at && at->segment == id && at->offset != queries[i].offset;
                }
              });
}

std::vector<std::uint32_t> Store::Impl::merge_candidates() const {
  std::shared_lock state_lock(state_mutex_);
  return segments_.merge_candidates(options_.merge_dead_fraction, options_.merge_dead_bytes);
}

}  // namespace pyk
