// Holding a store's datafiles to its manifest (core/manifest.h): the one
// place that decides whether a segment is missing, cut short or grown, and
// which datafiles are not part of the store at all. Store::open and pyk-fsck
// both ask here, so they name the same problems.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "core/manifest.h"

namespace pyk {

// Something wrong with a segment the store must have. Store::open hands each
// one to a single function that decides what to do (today: refuse to open).
struct SegmentProblem {
  enum class Kind {
    missing,       // listed in the manifest, but the datafile is gone
    truncated,     // shorter than the manifest says (a sealed one), or its
                   // records end before the length it had at its last clean close
    grown,         // a sealed segment longer than the manifest says
    damaged,       // a header or records of a segment that must be whole
    bad_manifest,  // MANIFEST itself does not decode
  };
  Kind kind = Kind::damaged;
  std::uint32_t id = 0;  // 0 for the manifest
  std::string file;      // datafile (or MANIFEST) name
  std::uint64_t offset = 0;    // where the damage starts (truncated: where the data ends)
  std::uint64_t expected = 0;  // missing, truncated, grown: the length listed
  std::uint64_t actual = 0;    // truncated, grown: the length found
  std::string detail;          // damaged, bad_manifest: what is wrong

  // What is wrong, without the file name (messages add it), e.g. "segment
  // listed in the manifest is missing (...)".
  std::string describe() const;
};

struct SegmentCheck {
  std::vector<std::uint32_t> listed;       // listed and present: the segments to replay
  std::vector<SegmentProblem> problems;    // listed segments missing or of the wrong length
  std::vector<std::uint32_t> unlisted;     // present but not listed: not part of the store
  // Runs of ids [first, last] below the newest listed one, neither listed nor
  // present: the gaps merges leave, normal.
  std::vector<std::pair<std::uint32_t, std::uint32_t>> merged_away;
};

// Compares `manifest` with the datafiles present: `sizes` maps each one's
// segment id to its size.
SegmentCheck check_segments(const Manifest& manifest,
                            const std::map<std::uint32_t, std::uint64_t>& sizes);

}  // namespace pyk
