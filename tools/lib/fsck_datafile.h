// pyk-fsck on one datafile: what it holds (read with LogReader, tolerant, as
// recovery would read it) and the rewrite that keeps only its good parts.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/directory.h"
#include "core/file_header.h"
#include "core/options.h"
#include "tools/lib/finding.h"

namespace pyk::tools {

// What one datafile holds: the byte ranges worth keeping (whole records and
// complete batches) and what is wrong with the rest.
struct DatafileAnalysis {
  using Range = std::pair<std::uint64_t, std::uint64_t>;  // [from, to)
  std::uint64_t size = 0;
  FileHeaderProblem header = FileHeaderProblem::none;
  std::uint32_t merge_rank = 0;  // from a good header; a rebuilt file keeps it
  std::vector<Range> kept;
  std::vector<Finding> findings;
  std::uint64_t records = 0;  // valid records, batch headers and dropped batches included
  bool header_ok() const { return header == FileHeaderProblem::none; }
};

// Analyses datafile `name` of segment `id`; `newest`: the last in replay
// order, whose damage Store::open treats by `recovery` (core/recovery_rule.h):
// where that sets the rest of the file aside, only the records before the
// first damage are kept. Throws IoError.
DatafileAnalysis analyse_datafile(Directory& directory, const std::string& name, std::uint32_t id,
                                  bool newest,
                                  RecoveryMode recovery = RecoveryMode::point_in_time);

// Rewrites datafile `name` to its kept ranges (under a good header), the
// dropped bytes to `quarantine` first; a file with nothing to keep moves
// there whole. Throws IoError.
void repair_datafile(Directory& store, Directory& quarantine, const std::string& name,
                     std::uint32_t id, const DatafileAnalysis& analysis);

}  // namespace pyk::tools
