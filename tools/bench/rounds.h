// Rounds: each engine runs its workloads once per round, the engines taking
// turns within a round, and each figure is the median of its rounds. On a
// shared machine one pass of a workload can be 20-40% off its usual figure,
// in either direction; a median of passes taken in alternation keeps the
// ratios between engines, which a single pass of each does not.
#pragma once

#include <vector>

#include "tools/bench/workload.h"

namespace pyk::bench {

// `rounds`: one engine's results at one value size, one vector per round,
// each with the same workloads in the same order. Returns one row per
// workload: the row of the round whose ops/s is the median (the lower of the
// two middle ones for an even count; for close and reopen, which run once,
// that is the median time), whole, so that its latencies, disk bytes and
// peak RSS go with it; `rounds`, `min_ops_per_sec` and `max_ops_per_sec`
// give the count and the spread. If a round failed (a row with an error, or
// rows that do not line up with the first round's), returns that round's
// rows as they are, so that the error shows.
std::vector<Result> median_of_rounds(const std::vector<std::vector<Result>>& rounds);

}  // namespace pyk::bench
