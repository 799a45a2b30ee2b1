// Printing results: Markdown tables for people, JSON for scripts.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "tools/bench/engine.h"
#include "tools/bench/workload.h"

namespace pyk::bench {

// A summary (ops/s, workloads x engines), the speed-goal ratios, then one
// detailed row per engine and workload (with each figure's range when it is
// the median of rounds).
void print_markdown(std::ostream& out, const std::vector<Result>& results);
// The engines' settings as a Markdown list.
void print_settings(std::ostream& out, const std::vector<EngineInfo>& engines);
void write_json(std::ostream& out, const Params& params, int rounds, const std::vector<EngineInfo>& engines,
                const std::vector<Result>& results, const std::string& machine);

// Serialises one result as a line (engine runs in a child process send them
// to the parent this way) and reads it back.
std::string to_line(const Result& r);
Result from_line(const std::string& line);

}  // namespace pyk::bench
