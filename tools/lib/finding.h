// What pyk-fsck reports: one finding per thing it saw, a problem (the check
// fails) or a note (it does not).
#pragma once

#include <cstdint>
#include <string>

namespace pyk::tools {

enum class FindingKind {
  // Problems.
  bad_header,
  bad_magic,
  empty_file,
  damaged_region,
  torn_tail,
  incomplete_batch,
  temp_file,
  bad_hint,  // damaged, stale or unreadable: rebuilt
  orphan_hint,
  python_char_lengths,
  bad_manifest,
  missing_segment,    // listed in the manifest, gone
  truncated_segment,  // shorter than the manifest lists
  grown_segment,      // a sealed segment longer than the manifest lists
  unlisted_datafile,  // not listed: not part of the store
  reverted_key,       // --repair would show an older value of this key, or none

  // Notes.
  python_pyk_file,
  stray_file,
  store_in_use,
  segment_gap,
  missing_hint,  // --repair writes a missing hint of a sealed datafile
};

// The stable identifier of `kind` in text and JSON reports ("torn_tail").
const char* finding_kind_name(FindingKind kind);
// False for the notes.
bool is_problem(FindingKind kind);

struct Finding {
  std::string file;
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
  FindingKind kind = FindingKind::damaged_region;
  std::string detail;
  std::string action;  // what --repair does (or did) about it
  std::string key;     // reverted_key: the key (empty: keys that cannot be named)
  bool repaired = false;
  bool problem() const { return is_problem(kind); }
};

}  // namespace pyk::tools
