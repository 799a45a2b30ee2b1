#include "core/segment_check.h"

#include <algorithm>

#include "core/filename.h"

namespace pyk {

std::string SegmentProblem::describe() const {
  switch (kind) {
    case Kind::missing:
      return "segment listed in the manifest is missing (the newest values of its keys are lost)";
    case Kind::truncated:
      return "segment is " + std::to_string(actual) + " bytes, shorter than the " +
             std::to_string(expected) + " the manifest lists (records at its end are lost)";
    case Kind::grown:
      return "sealed segment is " + std::to_string(actual) + " bytes, longer than the " +
             std::to_string(expected) + " the manifest lists";
    case Kind::damaged: return detail;
    case Kind::bad_manifest: return "manifest is damaged: " + detail;
  }
  return "unknown segment problem";
}

SegmentCheck check_segments(const Manifest& manifest,
                            const std::map<std::uint32_t, std::uint64_t>& sizes) {
  SegmentCheck out;
  for (const ManifestEntry& entry : manifest.segments) {
    const auto it = sizes.find(entry.id);
    SegmentProblem p{.id = entry.id, .file = filename::data(entry.id), .expected = entry.length};
    if (it == sizes.end()) {
      p.kind = SegmentProblem::Kind::missing;
      out.problems.push_back(std::move(p));
      continue;
    }
    p.actual = it->second;
    if (p.actual < entry.length) {
      p.kind = SegmentProblem::Kind::truncated;
      p.offset = p.actual;
      out.problems.push_back(std::move(p));
      continue;
    }
    if (!entry.open_ended() && p.actual > entry.length) {
      p.kind = SegmentProblem::Kind::grown;
      p.offset = entry.length;
      out.problems.push_back(std::move(p));
      continue;
    }
    out.listed.push_back(entry.id);
  }
  for (const auto& [id, size] : sizes)
    if (manifest.find(id) == nullptr) out.unlisted.push_back(id);
  // Walk the listed and present ids in order; what lies between is a gap.
  std::uint32_t next = 1;
  auto gap_until = [&](std::uint32_t id) {
    if (id > next) out.merged_away.emplace_back(next, id - 1);
    next = std::max(next, id + 1);
  };
  auto present = sizes.begin();
  for (const ManifestEntry& entry : manifest.segments) {
    for (; present != sizes.end() && present->first < entry.id; ++present) gap_until(present->first);
    gap_until(entry.id);
  }
  return out;
}

}  // namespace pyk
