#include "tools/bench/rounds.h"

#include <algorithm>
#include <stdexcept>

namespace pyk::bench {
namespace {

bool failed(const std::vector<Result>& round, const std::vector<Result>& first) {
  if (round.size() != first.size()) return true;
  for (std::size_t i = 0; i < round.size(); ++i) {
    if (!round[i].error.empty() || round[i].workload != first[i].workload ||
        round[i].threads != first[i].threads)
      return true;
  }
  return false;
}

}  // namespace

std::vector<Result> median_of_rounds(const std::vector<std::vector<Result>>& rounds) {
  if (rounds.empty()) throw std::invalid_argument("median_of_rounds: no rounds");
  for (const auto& round : rounds)
    if (failed(round, rounds.front())) return round;
  std::vector<Result> out;
  for (std::size_t i = 0; i < rounds.front().size(); ++i) {
    std::vector<const Result*> passes;
    for (const auto& round : rounds) passes.push_back(&round[i]);
    std::sort(passes.begin(), passes.end(),
              [](const Result* a, const Result* b) { return a->ops_per_sec() < b->ops_per_sec(); });
    Result median = *passes[(passes.size() - 1) / 2];
    median.rounds = static_cast<int>(passes.size());
    median.min_ops_per_sec = passes.front()->ops_per_sec();
    median.max_ops_per_sec = passes.back()->ops_per_sec();
    out.push_back(median);
  }
  return out;
}

}  // namespace pyk::bench
