#include "core/maintenance_queue.h"

#include <exception>
#include <string>
#include <utility>

namespace pyk {

void MaintenanceQueue::start(Runner run, Logger log, Job periodic,
                             std::chrono::milliseconds interval) {
  run_ = std::move(run);
  log_ = std::move(log);
  periodic_ = periodic;
  interval_ = interval;
  thread_ = std::jthread([this](std::stop_token stop) { loop(stop); });
}

void MaintenanceQueue::enqueue(Job job) {
  {
    std::lock_guard lock(mutex_);
    jobs_.push_back(job);
  }
  wake_.notify_one();
}

void MaintenanceQueue::enqueue_first(Job job) {
  {
    std::lock_guard lock(mutex_);
    jobs_.push_front(job);
  }
  wake_.notify_one();
}

void MaintenanceQueue::stop() {
  if (!thread_.joinable()) return;
  thread_.request_stop();
  wake_.notify_all();
  thread_.join();
}

void MaintenanceQueue::loop(std::stop_token stop) {
  using Clock = std::chrono::steady_clock;
  auto next_periodic = Clock::now() + interval_;
  for (;;) {
    Job job;
    {
      std::unique_lock lock(mutex_);
      if (interval_.count() > 0) {
        if (!wake_.wait_until(lock, stop, next_periodic, [&] { return !jobs_.empty(); }) &&
            !stop.stop_requested()) {
          jobs_.push_back(periodic_);  // the interval passed with nothing queued
          next_periodic = Clock::now() + interval_;
        }
      } else {
        wake_.wait(lock, stop, [&] { return !jobs_.empty(); });
      }
      while (stop.stop_requested() && !jobs_.empty() && jobs_.front().kind != Job::Kind::hint)
        jobs_.pop_front();
      if (jobs_.empty()) return;  // only reached when stopping
      job = jobs_.front();
      jobs_.pop_front();
    }
    try {
      run_(job);
    } catch (const std::exception& e) {
      const std::string what =
          job.kind == Job::Kind::hint    ? "writing hint file of segment " + std::to_string(job.segment_id)
          : job.kind == Job::Kind::spare ? std::string("making a spare segment")
                                         : std::string("automatic merge");
      log_(what + " failed: " + e.what());
    }
  }
}

}  // namespace pyk
