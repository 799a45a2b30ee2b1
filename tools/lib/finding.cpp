#include "tools/lib/finding.h"

namespace pyk::tools {

const char* finding_kind_name(FindingKind kind) {
  switch (kind) {
    case FindingKind::bad_header: return "bad_header";
    case FindingKind::bad_magic: return "bad_magic";
    case FindingKind::empty_file: return "empty_file";
    case FindingKind::damaged_region: return "damaged_region";
    case FindingKind::torn_tail: return "torn_tail";
    case FindingKind::incomplete_batch: return "incomplete_batch";
    case FindingKind::temp_file: return "temp_file";
    case FindingKind::bad_hint: return "bad_hint";
    case FindingKind::orphan_hint: return "orphan_hint";
    case FindingKind::python_char_lengths: return "python_char_lengths";
    case FindingKind::bad_manifest: return "bad_manifest";
    case FindingKind::missing_segment: return "missing_segment";
    case FindingKind::truncated_segment: return "truncated_segment";
    case FindingKind::grown_segment: return "grown_segment";
    case FindingKind::unlisted_datafile: return "unlisted_datafile";
    case FindingKind::reverted_key: return "reverted_key";
    case FindingKind::python_pyk_file: return "python_pyk_file";
    case FindingKind::stray_file: return "stray_file";
    case FindingKind::store_in_use: return "store_in_use";
    case FindingKind::segment_gap: return "segment_gap";
    case FindingKind::missing_hint: return "missing_hint";
  }
  return "unknown";
}

bool is_problem(FindingKind kind) {
  switch (kind) {
    case FindingKind::python_pyk_file:
    case FindingKind::stray_file:
    case FindingKind::store_in_use:
    case FindingKind::segment_gap:
    case FindingKind::missing_hint:
      return false;
    default:
      return true;
  }
}

}  // namespace pyk::tools
