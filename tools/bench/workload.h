// The workloads (db_bench style) and the one set of parameters they share
// across engines, plus the result of running one workload on one engine.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "tools/bench/engine.h"

namespace pyk::bench {

struct Params {
  std::uint64_t num = 1'000'000;   // keys for every workload but fillsync
  std::uint64_t sync_num = 2'000;  // writes for each fillsync run (each fsyncs)
  std::size_t value_size = 100;
  std::uint64_t seed = 301;
  std::string dir;                 // each engine works in dir/<engine>
  std::vector<std::string> workloads;  // in run order; empty = all
  bool keep_dir = false;           // leave dir/<engine> behind for inspection
};

// Every workload, in the order they run (later ones use earlier ones' data).
const std::vector<std::string>& workload_names();

struct Result {
  std::string engine;
  std::string workload;
  int threads = 1;
  std::size_t value_size = 0;
  std::uint64_t ops = 0;
  std::uint64_t found = 0;       // reads that found their key
  double seconds = 0;
  std::uint64_t bytes = 0;       // key + value bytes moved by the operations
  double p50_us = 0, p99_us = 0, p999_us = 0;
  std::uint64_t disk_bytes = 0;  // after the workload
  std::uint64_t peak_rss = 0;    // bytes, during the workload (VmHWM)
  std::uint64_t keys = 0;        // keys expected in the store afterwards
  std::uint64_t keydir_bytes = 0;
  std::string error;             // set if the engine failed
  // Set by median_of_rounds (tools/bench/rounds.h): the rounds this row is
  // the median of, and the lowest and highest ops/s among them.
  int rounds = 1;
  double min_ops_per_sec = 0, max_ops_per_sec = 0;

  double ops_per_sec() const { return seconds > 0 ? static_cast<double>(ops) / seconds : 0; }
  double mb_per_sec() const { return seconds > 0 ? static_cast<double>(bytes) / 1e6 / seconds : 0; }
};

// Runs the selected workloads on one engine in order, calling `emit` after each.
void run_engine(const EngineInfo& engine, const Params& params,
                const std::function<void(const Result&)>& emit);

// 16-byte keys: zero-padded decimal of i; a missing key has its last digit
// replaced by 'x', so it sorts among the present keys.
void make_key(std::uint64_t i, char (&out)[16]);
void make_missing_key(std::uint64_t i, char (&out)[16]);

}  // namespace pyk::bench
