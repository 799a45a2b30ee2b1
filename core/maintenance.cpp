// The background worker: hint files for sealed segments and automatic
// merges, kept off the write path so put never waits for them.
#include "core/error.h"
#include "core/filename.h"
#include "core/hint_file.h"
#include "core/store_impl.h"

namespace pyk {

void Store::Impl::enqueue(Job job) {
  {
    std::lock_guard lock(jobs_mutex_);
    jobs_.push_back(job);
  }
  jobs_wake_.notify_one();
}

void Store::Impl::worker_loop(std::stop_token stop) {
  for (;;) {
    Job job;
    {
      std::unique_lock lock(jobs_mutex_);
      jobs_wake_.wait(lock, stop, [&] { return !jobs_.empty(); });
      // On stop, finish the hint jobs (the next open is faster with them) but
      // start no merge: close() should not wait for one.
      while (stop.stop_requested() && !jobs_.empty() && jobs_.front().kind != Job::Kind::hint)
        jobs_.pop_front();
      if (jobs_.empty()) return;  // only reached when stopping
      job = jobs_.front();
      jobs_.pop_front();
    }
    try {
      run_job(job);
    } catch (const std::exception& e) {
      // Hints are an optimisation and merge leaves a consistent store when it
      // fails; neither failure may take the store down. Report it.
      log(std::string(job.kind == Job::Kind::hint ? "writing hint file of segment " +
                                                        std::to_string(job.segment_id)
                                                  : std::string("automatic merge")) +
          " failed: " + e.what());
    }
  }
}

void Store::Impl::stop_worker() {
  if (!worker_.joinable()) return;
  worker_.request_stop();
  jobs_wake_.notify_all();
  worker_.join();
}

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
  std::shared_lock state_lock(state_mutex_);
  return segments_.merge_candidates(options_.merge_dead_fraction, options_.merge_dead_bytes);
}

}  // namespace pyk
