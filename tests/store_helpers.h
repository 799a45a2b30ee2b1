// Small helpers for the hint and merge tests: a store's whole contents, the
// files of a directory by kind, waiting for background work.
#pragma once

#include <algorithm>
#include <chrono>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "core/directory.h"
#include "core/error.h"
#include "core/filename.h"
#include "core/format.h"
#include "core/store.h"

namespace pyk::test {

inline std::map<std::string, std::string> contents(const Store& db) {
  std::map<std::string, std::string> out;
  db.for_each([&](std::string_view k, std::string_view v) { out.emplace(k, v); });
  return out;
}

// Segment ids of the files of `kind` in `dir`, ascending.
inline std::vector<std::uint32_t> ids_of(const Directory& dir, filename::Kind kind) {
  std::vector<std::uint32_t> ids;
  for (const auto& name : dir.list()) {
    const auto parsed = filename::parse(name);
    if (parsed.kind == kind) ids.push_back(parsed.segment_id);
  }
  std::sort(ids.begin(), ids.end());
  return ids;
}

// The ids of `stats`' segments (in replay order) that `keep` accepts.
inline std::vector<std::uint32_t> segment_ids(const Stats& stats,
                                              bool (*keep)(const SegmentStats&) = nullptr) {
  std::vector<std::uint32_t> ids;
  for (const SegmentStats& s : stats.segments)
    if (keep == nullptr || keep(s)) ids.push_back(s.id);
  return ids;
}
inline bool sealed(const SegmentStats& s) { return !s.active; }
inline bool holds_records(const SegmentStats& s) { return s.bytes > format::kFileHeaderSize; }

// The datafiles holding more than a header: every segment but an empty one,
// leaving out the spares a writer makes ahead in the background (Stats::spare_segments).
inline std::vector<std::uint32_t> ids_with_records(Directory& dir) {
  std::vector<std::uint32_t> ids;
  for (const std::uint32_t id : ids_of(dir, filename::Kind::data)) {
    try {
      if (dir.open(filename::data(id), OpenMode::read_only)->size() > format::kFileHeaderSize)
        ids.push_back(id);
    } catch (const IoError&) {  // a spare removed since the listing
    }
  }
  return ids;
}

// Polls `done` for up to `limit` (20 s: background work on a busy machine).
template <class Pred>
bool wait_until(Pred done, std::chrono::milliseconds limit = std::chrono::seconds(20)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

inline std::string value_of(int key, int version) {
  return "value-" + std::to_string(key) + "-" + std::to_string(version) + std::string(60, 'x');
}

}  // namespace pyk::test
