// MaintenanceQueue: one background thread that runs a store's maintenance
// jobs — hint files for sealed segments, spare segments for the rotations
// ahead, automatic merge checks — in order, off the write path, so put never
// waits for them.
//
// Thread-safe. Jobs may be queued before start() (open queues the hints it
// found missing); they run once it starts.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <stop_token>
#include <string_view>
#include <thread>

namespace pyk {

class MaintenanceQueue {
 public:
  struct Job {
    enum class Kind { hint, spare, merge_check } kind;
    std::uint32_t segment_id = 0;  // for a hint job
  };
  // Runs one job; what it throws is logged, never fatal: hints are an
  // optimisation and a failed merge leaves a consistent store.
  using Runner = std::function<void(const Job&)>;
  using Logger = std::function<void(std::string_view)>;

  ~MaintenanceQueue() { stop(); }

  // Starts the thread. It also runs `periodic` (the automatic merge's timed
  // check) every `interval`, or as soon as the queue empties after that if
  // other jobs are running; 0: never.
  void start(Runner run, Logger log, Job periodic, std::chrono::milliseconds interval);
  void enqueue(Job job);
  // Ahead of every queued job (a spare must not wait for the syncs queued
  // before it: a rotation may need it sooner).
  void enqueue_first(Job job);
  // Runs the hint jobs still queued (the next open is faster with them),
  // drops the others (close should not wait for a merge, and removes
  // spares), and joins.
  void stop();

 private:
  void loop(std::stop_token stop);

  Runner run_;
  Logger log_;
  Job periodic_{};
  std::chrono::milliseconds interval_{0};
  std::mutex mutex_;
  std::condition_variable_any wake_;
  std::deque<Job> jobs_;  // guarded by mutex_
  std::jthread thread_;
};

}  // namespace pyk
