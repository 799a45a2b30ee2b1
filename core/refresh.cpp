// A read-only store beside a live writer: opening while the writer rotates
// and merges, and refresh(), which catches up with what it wrote since.
//
// The writer only appends to its active segment (the newest, or a spare
// listed after it: core/log_writer.h) and creates newer ones, except when
// it merges: merge outputs replay among the segments already
// there (format.h, "Replay order") and the inputs are removed. So either
// the segments loaded are still the first ones in replay order — apply the
// new bytes and the new segments, which is what a fresh open would replay
// after them — or a merge happened, and the store is rebuilt from the
// segments now listed. Files merged away stay readable through the segments
// still held (directory.h), so nothing read before goes bad meanwhile. The
// manifest is read before the directory is listed (see load_segments()).
#include <algorithm>
#include <cerrno>
#include <mutex>

#include "core/error.h"
#include "core/filename.h"
#include "core/manifest.h"
#include "core/store_impl.h"

namespace pyk {
namespace {

// A segment listed, then removed by a merge before it could be opened. The
// merge's outputs were in place before its inputs went, so the next listing
// has them. Bounded, so a directory that keeps failing still reports it.
constexpr int kMaxRelists = 100;

bool merged_away(const IoError& e) { return e.error_code() == ENOENT; }

}  // namespace

std::vector<ReplayPosition> Store::Impl::load_relisting() {
  for (int attempt = 1;; ++attempt) {
    try {
      return load_segments();
    } catch (const ManifestChanged&) {
      if (attempt == kMaxRelists)
        throw Error("store " + path_ + " kept changing while being opened read-only");
    } catch (const IoError& e) {
      if (!merged_away(e) || attempt == kMaxRelists) throw;
    }
    keydir_.clear();
    (void)segments_.clear();  // open() of a store no reader sees yet
    recovery_stats_ = {};
  }
}

void Store::Impl::refresh() {
  check_open();
  if (!options_.read_only)
    throw InvalidArgument("refresh() is for read-only stores; " + path_ +
                          " is open for writing and always up to date");
  std::lock_guard one_at_a_time(maintenance_mutex_);  // no maintenance runs read-only
  try {
    if (refresh_appended()) return;
  } catch (const ManifestChanged&) {
    // A merge replaced the manifest while new segments were loaded. What was
    // applied so far is a prefix of the log, so readers saw a consistent
    // store; reload replaces it.
  } catch (const IoError& e) {
    if (!merged_away(e)) throw;  // merged away between listing and opening: as above
  }
  reload();
}

bool Store::Impl::refresh_appended() {
  std::string manifest_problem;
  std::optional<Manifest> manifest = manifest::read(*directory_, manifest_problem);
  if (!manifest_problem.empty() || manifest.has_value() != manifest_.has_value())
    return false;  // reload() judges it
  std::vector<ReplayPosition> order = replay_order(*directory_);
  if (manifest) {
    // Unlisted datafiles are not part of the store (yet); a listed one not
    // there is a merge under way.
    std::erase_if(order, [&](const ReplayPosition& p) { return manifest->find(p.id) == nullptr; });
    if (order.size() != manifest->segments.size()) return false;
  }
  std::vector<ReplayPosition> loaded;
  {
    std::shared_lock state_lock(state_mutex_);
    for (const SegmentSet::Entry* entry : segments_.in_replay_order())
      loaded.push_back({entry->rank, entry->stats.id});
  }
  // By (rank, id): `order` also carries each file's size, `loaded` does not.
  const auto same_file = [](const ReplayPosition& a, const ReplayPosition& b) {
    return a.rank == b.rank && a.id == b.id;
  };
  if (order.size() < loaded.size() || !std::equal(loaded.begin(), loaded.end(), order.begin(), same_file))
    return false;
  // A segment loaded while open-ended may have grown since: the active one,
  // and the spares listed after it, which the writer moves into without a
  // new manifest (core/log_writer.h). A new handle sees the new length.
  std::vector<std::pair<std::uint32_t, std::shared_ptr<Segment>>> reopened;
  for (const ReplayPosition& p : loaded)
    if (may_have_torn_tail(p.id, p.id == loaded.back().id))  // by the manifest loaded before
      reopened.emplace_back(p.id, directory_->open(filename::data(p.id), OpenMode::read_only));

  // The old handles of the segments that grew. Readers that found one keep
  // reading through it until done, also when loading a new segment below
  // fails (merged away) and reload() takes over.
  DroppedSegments replaced(gate_);
  replaced.reserve(reopened.size());
  {
    // Applied under one exclusive lock: readers see all of it or none.
    StateWriteLock state_lock(*this);
    manifest_ = std::move(manifest);  // what may_have_torn_tail() and handle() go by now
    for (auto& [id, handle] : reopened) {  // in replay order
      SegmentSet::Entry& entry = *segments_.find(id);
      // A hinted segment was sealed at close and never grows.
      if (entry.hinted || handle->size() <= entry.stats.bytes) continue;
      replaced.add(segments_.replace(id, std::move(handle)));
      const bool tail_allowed =
          may_have_torn_tail(id, id == loaded.back().id && order.size() == loaded.size());
      entry.stats.bytes = replay_log(entry, tail_allowed, entry.stats.bytes, /*report=*/false).keep_end;
    }
    for (std::size_t i = loaded.size(); i < order.size(); ++i)
      load_segment(order[i].id, i + 1 == order.size(), std::nullopt);
    segments_.derive_dead_bytes();
  }
  return true;
}

void Store::Impl::reload() {
  Options fresh_options = options_;
  fresh_options.directory = directory_;
  Impl fresh(path_, std::move(fresh_options));
  fresh.open();  // the files are read with no lock held
  DroppedSegments let_go(gate_);  // the segments swapped out below
  StateWriteLock state_lock(*this);
  keydir_.clear();
  keydir_.reserve(fresh.keydir_.size());
  fresh.keydir_.for_each([&](std::string_view key, const Location& l) { keydir_.put(key, l); });
  std::swap(segments_, fresh.segments_);
  let_go.add(fresh.segments_.clear());
  manifest_ = std::move(fresh.manifest_);
}

}  // namespace pyk
