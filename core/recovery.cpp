// Opening a store: rebuild the keydir by replaying every segment, oldest to
// newest (from its hint file when it has a good one), and cut a torn tail off
// the newest one.
#include <algorithm>
#include <array>
#include <cerrno>
#include <map>
#include <optional>

#include "core/error.h"
#include "core/filename.h"
#include "core/file_header.h"
#include "core/hint_file.h"
#include "core/log_reader.h"
#include "core/manifest.h"
#include "core/quarantine.h"
#include "core/segment_check.h"
#include "core/replay_order.h"
#include "core/store_impl.h"

namespace pyk {

void Store::Impl::open() {
  if (options_.max_key_size == 0 || options_.max_key_size > format::kMaxKeySize)
    throw InvalidArgument("max_key_size must be 1.." + std::to_string(format::kMaxKeySize));
  if (options_.max_value_size > format::kMaxValueSize)
    throw InvalidArgument("max_value_size must be at most " +
                          std::to_string(format::kMaxValueSize));
  if (options_.max_segment_size < 4096 || options_.max_segment_size > (2ull << 30))
    throw InvalidArgument("max_segment_size must be between 4 KiB and 2 GiB");
  if (options_.spare_segments > 16) throw InvalidArgument("spare_segments must be at most 16");
  if (!(options_.merge_dead_fraction >= 0 && options_.merge_dead_fraction <= 1))
    throw InvalidArgument("merge_dead_fraction must be between 0 and 1");
  if (options_.merge_check_interval.count() < 0)
    throw InvalidArgument("merge_check_interval must not be negative");
  if (options_.sync == SyncPolicy::interval && options_.sync_interval.count() <= 0)
    throw InvalidArgument("sync_interval must be positive");
  // The keydir addresses its keys with 4-byte arena positions.
  if (options_.expected_keys > UINT32_MAX)
    throw InvalidArgument("expected_keys " + std::to_string(options_.expected_keys) +
                          " cannot be honoured: a store holds at most 2^32 keys");

  directory_ = options_.directory
                   ? options_.directory
                   : open_directory(options_.backend, path_,
                                    options_.create_if_missing && !options_.read_only);
  if (!options_.read_only) {
    lock_ = directory_->lock(std::string(filename::kLock));
    writer_.emplace(*directory_, options_.max_segment_size, options_.spare_segments, next_segment_id_,
                    LogWriter::Events{
                        [this](std::uint32_t id, const std::shared_ptr<Segment>& segment,
                               bool listed) { segment_started(id, segment, listed); },
                        [this](std::uint32_t id) { segment_sealed(id); },
                        [this] { spare_wanted(); }});
  }

  for (const auto& name : directory_->list()) {
    const auto parsed = filename::parse(name);
    // Leftovers of an interrupted merge, hint or manifest write: never
    // referenced by the keydir.
    if (parsed.kind == filename::Kind::temp && !options_.read_only) {
      directory_->remove(name);
      log("removed unfinished file " + name);
    }
    // A new segment takes an id no file here carries: a hint left without
    // its datafile (an interrupted merge's) must never pass for a new one's index.
    if (parsed.kind == filename::Kind::data || parsed.kind == filename::Kind::hint)
      next_segment_id_ = std::max(next_segment_id_.load(), parsed.segment_id + 1);
  }
  // A read-only store lists the directory while the writer may merge files
  // away: it starts over when a segment goes missing (see refresh.cpp).
  const std::vector<ReplayPosition> order =
      options_.read_only ? load_relisting() : load_segments();

  if (!options_.read_only) {
    // Judged by the manifest as read, before anything below rewrites it.
    const std::vector<std::uint32_t> unused = unused_spares(order.empty() ? 0 : order.back().id);
    // A segment a rotation sealed but never synced was opened to cut its torn
    // tail: seal it now (synced), so the manifest below lists its exact length.
    for (const SegmentSet::Entry* entry : segments_.in_replay_order())
      if (order.empty() || entry->stats.id != order.back().id) entry->segment->seal();
    report_orphan_hints();
    // Keep appending to the newest segment if it has room, else start one.
    // Only a segment opened for appending qualifies: not a merge output, not
    // a torn creation that got removed, not one sealed with a hint at close.
    SegmentSet::Entry* newest = order.empty() ? nullptr : segments_.find(order.back().id);
    const bool opened_writable =
        newest && newest->rank == newest->stats.id && may_have_torn_tail(newest->stats.id, true);
    if (opened_writable && !newest->hinted &&
        newest->segment->size() < options_.max_segment_size) {
      writer_->resume(newest->stats.id, newest->segment);
      segments_.set_active(newest->stats.id);
      // A hint that was rejected (stale, damaged) must not outlive the appends.
      const std::string hint_name = filename::hint(newest->stats.id);
      if (directory_->remove(hint_name)) directory_->sync();
    } else {
      // Full, or sealed at close: seal it like a rotation would.
      if (opened_writable) newest->segment->seal();
      if (newest && !newest->hinted && newest->rank == newest->stats.id)
        maintenance_.enqueue({Job::Kind::hint, newest->stats.id});
      // Sealed with a hint by a clean close: the first write starts the next
      // segment (LogWriter::append), so a store opened and closed without a
      // write keeps its files, manifest and keydir snapshot as they are.
      if (!(newest && newest->hinted)) start_segment_if_space();  // lists it in the manifest
    }
    try {
      write_manifest();  // a store without one gets it; a change in the active segment is listed
    } catch (const IoError& e) {
      // On a full disk the store must still open. That is safe if the
      // manifest there lists the same segments: it can only be less strict
      // than now (a segment still listed unsynced whose background sync ran).
      const bool same_ids = manifest_ && [&] {
        std::shared_lock state_lock(state_mutex_);
        const auto now = manifest_listing();
        return std::equal(now.begin(), now.end(), manifest_->segments.begin(),
                          manifest_->segments.end(),
                          [](const ManifestEntry& a, const ManifestEntry& b) { return a.id == b.id; });
      }();
      if (!same_ids || (e.error_code() != ENOSPC && e.error_code() != EDQUOT)) throw;
      log(std::string("the manifest could not be brought up to date (") + e.what() +
          "); the one on disk still holds");
    }
    drop_unused_spares(unused);
    if (options_.sync == SyncPolicy::interval) {
      commit_.start_interval(options_.sync_interval, [this](std::string_view m) { log(m); });
    }
    maintenance_.start([this](const Job& job) { run_job(job); },
                       [this](std::string_view m) { log(m); }, {Job::Kind::merge_check, 0},
                       auto_merge() ? options_.merge_check_interval : std::chrono::milliseconds{0});
  }
  open_ = true;
}

std::vector<std::uint32_t> Store::Impl::unused_spares(std::uint32_t newest) const {
  // Empty, open-ended as the manifest read at open lists them, and not the
  // newest: spares that a crash left listed and no rotation took (the newest
  // is the active segment now).
  std::vector<std::uint32_t> unused;
  for (const SegmentSet::Entry* entry : segments_.in_replay_order()) {
    const std::uint32_t id = entry->stats.id;
    if (id != newest && entry->rank == id && may_have_torn_tail(id, false) &&
        entry->segment->size() <= format::kFileHeaderSize)
      unused.push_back(id);
  }
  return unused;
}

void Store::Impl::drop_unused_spares(const std::vector<std::uint32_t>& unused) {
  if (unused.empty()) return;
  {
    StateWriteLock state_lock(*this);
    for (const std::uint32_t id : unused) (void)segments_.remove(id);
  }
  try {
    drop_spares(unused);
  } catch (const IoError& e) {  // they hold nothing: the next open tries again
    log("could not remove unused spare segments: " + std::string(e.what()));
  }
}

std::vector<ReplayPosition> Store::Impl::load_segments() {
  // The manifest is read before the directory is listed: a writer creates a
  // segment before listing it and removes one only after a manifest that no
  // longer lists it, so a listed segment missing from the listing means the
  // manifest changed since (handle() tells a read-only store to start over).
  std::string manifest_problem;
  manifest_ = manifest::read(*directory_, manifest_problem);
  if (!manifest_problem.empty()) {
    handle({.kind = SegmentProblem::Kind::bad_manifest, .file = std::string(filename::kManifest),
            .detail = manifest_problem});
    manifest_.reset();
  }
  // Replay in (rank, id) order: a merge output replays right after its
  // inputs, before anything written since (format.h, "Replay order").
  std::vector<ReplayPosition> order = replay_order(*directory_);
  // The segments the store must have: those its manifest lists, each checked
  // for presence and length. A store from before manifests replays every
  // datafile it finds (and open writes it one).
  if (manifest_) {
    next_segment_id_ = std::max(next_segment_id_.load(), manifest_->newest_id() + 1);
    order = listed_segments(order);
  }
  // A clean close saved the keydir: if the store is as it left it, its keys
  // come from there and no hint is read (core/keydir_snapshot.h).
  const bool from_snapshot = load_snapshot(order);
  // Size the keydir once: growing it rehashes every key, reading each back
  // from the arena (most of the time of a large open).
  std::uint64_t hinted_keys = 0;
  if (!from_snapshot) {
    for (const auto& position : order) hinted_keys += hint::peek_entry_count(*directory_, position.id);
  }
  try {
    if (std::max(hinted_keys, options_.expected_keys) > keydir_.size())
      keydir_.reserve(std::max(hinted_keys, options_.expected_keys));
  } catch (const std::exception&) {  // bad_alloc, length_error: more than memory can hold
    throw InvalidArgument("expected_keys " + std::to_string(options_.expected_keys) +
                          " cannot be honoured: no memory for a table of that size");
  }
  for (std::size_t i = 0; i < order.size(); ++i) {
    load_segment(order[i].id, i + 1 == order.size(),
                 from_snapshot ? std::optional(order[i].size) : std::nullopt);
  }
  if (from_snapshot) count_snapshot_keys();
  segments_.derive_dead_bytes();
  return order;
}

void Store::Impl::start_segment_if_space() {
  try {
    writer_->start_segment();
  } catch (const IoError& e) {
    // A full disk must not keep the data from being read: open without an
    // active segment, and let the first write try again (LogWriter::append).
    if (e.error_code() != ENOSPC && e.error_code() != EDQUOT) throw;
    log(std::string("no space to start a new segment (") + e.what() +
        "); the store is open, and writes fail until space is freed");
  }
}

namespace {

// True if every byte of `segment` from `offset` on is zero (or there are none).
bool zero_from(const Segment& segment, std::uint64_t offset) {
  std::array<std::byte, 64 * 1024> buffer;
  for (std::uint64_t at = offset; at < segment.size();) {
    const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(buffer.size(), segment.size() - at));
    const auto bytes = segment.read(at, n, buffer);
    if (!std::all_of(bytes.begin(), bytes.end(), [](std::byte b) { return b == std::byte{0}; }))
      return false;
    at += n;
  }
  return true;
}

}  // namespace

std::uint32_t Store::Impl::read_rank(std::uint32_t id) {
  return read_replay_rank(*directory_, id);  // load_segment judges a damaged header
}

bool Store::Impl::may_have_torn_tail(std::uint32_t id, bool is_newest) const {
  if (!manifest_) return is_newest;
  // The active segment, and one a rotation sealed whose background sync had
  // not been recorded yet.
  const ManifestEntry* entry = manifest_->find(id);
  return entry != nullptr && entry->open_ended();
}

std::vector<ReplayPosition> Store::Impl::listed_segments(const std::vector<ReplayPosition>& present) {
  std::map<std::uint32_t, std::uint64_t> sizes;
  for (const auto& position : present) sizes[position.id] = position.size;
  const SegmentCheck check = check_segments(*manifest_, sizes);
  for (const SegmentProblem& problem : check.problems) handle(problem);
  std::vector<ReplayPosition> out;
  for (const auto& position : present) {
    if (manifest_->find(position.id) != nullptr) {
      out.push_back(position);
      continue;
    }
    const std::string name = filename::data(position.id);
    if (position.id > manifest_->newest_id()) {
      // Newer than the manifest: a rotation or a merge that stopped before
      // listing it. Nothing in it was ever served: a new segment takes
      // records only once listed, and a merge output holds copies of listed ones.
      const bool merge_output = position.rank != position.id;
      const auto segment = directory_->open(name, OpenMode::read_only);
      const bool empty = zero_from(*segment, format::kFileHeaderSize);
      const bool torn = !check_file_header(*segment, format::kDataMagic, position.id).ok();
      if (!merge_output && !empty) {
        handle({.kind = SegmentProblem::Kind::damaged, .id = position.id, .file = name,
                .detail = "holds records but is not listed in the manifest (written by a pyk "
                          "that keeps no manifest?)"});
        continue;
      }
      if (!options_.read_only) {
        // Its hint first (a merge writes one for each output): a crash in
        // between leaves the datafile, removed again by the next open.
        if (directory_->remove(filename::hint(position.id)))
          log("removed " + filename::hint(position.id) + ", the hint of " + name);
        directory_->remove(name);
        directory_->sync();
      }
      log(name + (merge_output ? " is the output of an interrupted merge"
                  : torn       ? " has a torn header from an interrupted creation"
                               : " holds no records: an interrupted creation") +
          " (not listed in the manifest)" + (options_.read_only ? "; ignored" : "; removed"));
      continue;
    }
    log(name + " is not listed in the manifest (left by an interrupted merge): not part of the "
        "store, ignored; pyk-fsck --repair moves it to quarantine");
  }
  return out;
}

void Store::Impl::load_segment(std::uint32_t id, bool is_newest,
                               std::optional<std::uint64_t> snapshot_size) {
  const std::string name = filename::data(id);
  const bool tail_allowed = may_have_torn_tail(id, is_newest);
  // Only the newest segment in replay order may be appended to, and only if
  // it is not a merge output (appending to one would break replay order).
  const bool writable = tail_allowed && !options_.read_only && read_rank(id) == id;
  std::shared_ptr<Segment> segment;
  try {
    segment = directory_->open(name, writable ? OpenMode::append : OpenMode::read_only);
  } catch (const IoError& e) {
    // Gone since the directory was listed: a writer's merge (read-only), or lost.
    if (e.error_code() != ENOENT || !manifest_) throw;
    handle({.kind = SegmentProblem::Kind::missing, .id = id, .file = name});
    return;
  }

  const FileHeaderCheck header = check_file_header(*segment, format::kDataMagic, id);
  if (!header.ok()) {
    // A crash right after creating the newest segment can leave its header
    // torn or unwritten; it cannot hold any record yet. A power cut (or an
    // older mmap backend's preallocation) may leave it zero-filled, longer
    // than a header. (With a manifest a segment is listed only once its
    // header is durable.)
    const bool torn_creation =
        is_newest && !manifest_ &&
        (header.unwritten || (header.problem != FileHeaderProblem::bad_magic &&
                              header.problem != FileHeaderProblem::bad_version)) &&
        zero_from(*segment, format::kFileHeaderSize);
    if (!torn_creation && tail_allowed && set_aside_bad_header(segment, header)) return;
    if (!torn_creation) {
      handle({.kind = SegmentProblem::Kind::damaged, .id = id, .file = name,
              .detail = "bad file header: " + header.describe()});
      return;
    }
    log("segment " + segment->describe() + " has a torn header from an interrupted creation" +
        (options_.read_only ? "; ignored" : "; removed"));
    segment.reset();
    if (!options_.read_only) directory_->remove(name);
    return;
  }

  SegmentSet::Entry& state = segments_.add(id, segment, replay_rank(header.header, id));
  const ManifestEntry* listed = manifest_ ? manifest_->find(id) : nullptr;
  state.min_length = listed != nullptr && listed->active ? listed->length : format::kFileHeaderSize;

  if (snapshot_size) {
    load_covered_by_snapshot(state, *snapshot_size);
    return;
  }

  // The newest segment has a hint only if a clean close sealed it (see
  // Impl::close); its size then matches exactly, so there is no torn tail.
  if (load_from_hint(id, /*report_missing=*/!is_newest)) {
    state.hinted = true;
    return;
  }

  const RecoveryDecision decision = replay_log(state, tail_allowed, format::kFileHeaderSize, true);
  const std::uint64_t committed_end = decision.keep_end;
  // Damage followed by valid records: those go to quarantine before the cut.
  if (writable && decision.action == RecoveryDecision::Action::set_aside) set_aside(*segment, decision);
  // Drop a torn tail, or what was just set aside.
  if (writable && committed_end < segment->size()) segment->truncate(committed_end);
  state.stats.bytes = writable ? segment->size() : committed_end;
  // A sealed segment scanned for want of a hint gets one, so the next open is fast.
  if (!is_newest && !options_.read_only) maintenance_.enqueue({Job::Kind::hint, id});
}

RecoveryDecision Store::Impl::replay_log(SegmentSet::Entry& state, bool tail_allowed,
                                         std::uint64_t start, bool report) {
  const Segment& segment = *state.segment;
  const std::string name = filename::data(state.stats.id);
  // Only the active segment may end in a torn tail (a crash while appending):
  // there reading stops at the first problem, and the recovery mode says what
  // becomes of the bytes from there on. Anywhere else damage is corruption
  // (handle()). A batch applies whole or not at all.
  std::optional<LogProblem> first;
  LogReader reader(segment, LogReader::Mode::tolerant,
                   [&](const LogProblem& problem) {
                     if (tail_allowed) {
                       if (!first) first = problem;
                       return;
                     }
                     handle({.kind = SegmentProblem::Kind::damaged, .id = state.stats.id,
                             .file = name, .offset = problem.offset,
                             .detail = problem.reason + " in a segment that must be whole"});
                   },
                   start);
  std::uint64_t committed_end = start;
  while (reader.next()) {
    if (first) break;  // a unit past the damage
    const LogUnit& unit = reader.unit();
    segments_.count_dead(state, unit.header_size);  // a batch header is dead weight once applied
    for (const Record& r : unit.records)
      replay(state, r.header.type, r.key, r.offset, r.size(), r.header.expiry);
    committed_end = unit.end;
  }
  if (segment.size() < state.min_length) {
    // Synced at the last clean close or rotation: a crash cannot have torn it.
    handle({.kind = SegmentProblem::Kind::truncated, .id = state.stats.id, .file = name,
            .offset = segment.size(), .expected = state.min_length, .actual = segment.size()});
  }
  // Read-only beside a writer, a torn tail is its append in progress.
  const RecoveryMode mode =
      options_.read_only && first && first->at_tail ? RecoveryMode::torn_tail : options_.recovery;
  RecoveryDecision decision = decide_recovery(mode, first ? &*first : nullptr, committed_end);
  if (decision.action == RecoveryDecision::Action::refuse)
    throw CorruptionError(decision.explanation, segment.describe(), first->offset);
  if (!report || decision.action == RecoveryDecision::Action::keep) return decision;
  const std::uint64_t dropped = segment.size() - committed_end;
  const bool writable = !segment.sealed();
  if (decision.action == RecoveryDecision::Action::cut_tail) {
    ++recovery_stats_.torn_tails_dropped;
    recovery_stats_.torn_bytes_dropped += dropped;
    log("torn tail of " + std::to_string(dropped) + " bytes (" + first->reason + ") at " +
        segment.describe() + " offset " + std::to_string(committed_end) +
        (writable ? ": cut off" : ": ignored (read-only)"));
  } else if (!writable) {
    log(segment.describe() + ": " + decision.explanation + "; read-only, so the " +
        std::to_string(dropped) + " bytes from there on are only ignored");
  }
  return decision;
}

void Store::Impl::set_aside(const Segment& segment, const RecoveryDecision& decision) {
  const std::uint64_t from = decision.keep_end, to = segment.size();
  std::string bytes(to - from, '\0');
  segment.read_into(from, std::as_writable_bytes(std::span(bytes)));
  std::shared_ptr<Directory> quarantine =
      options_.quarantine ? options_.quarantine
                          : open_directory(directory_->backend(), path_ + "/quarantine", true);
  const std::string name =
      quarantine_bytes(*quarantine, quarantine_name(segment.name(), from, to), bytes);
  ++recovery_stats_.ranges_set_aside;
  recovery_stats_.bytes_set_aside += to - from;
  log(segment.describe() + ": " + decision.explanation + "; " + std::to_string(to - from) +
      " bytes moved to " + quarantine->describe() + "/" + name);
}

bool Store::Impl::set_aside_bad_header(std::shared_ptr<Segment>& segment,
                                       const FileHeaderCheck& header) {
  // A power cut while the header was still unsynced can garble it; the
  // recovery rule treats it as damage at offset 0 of the newest segment.
  const LogProblem problem{LogProblem::Kind::damaged_bytes, 0, segment->size(),
                           "bad file header: " + header.describe(), false};
  const RecoveryDecision decision = decide_recovery(options_.recovery, &problem, 0);
  if (decision.action != RecoveryDecision::Action::set_aside) return false;
  if (options_.read_only) {
    log(segment->describe() + ": " + decision.explanation + "; read-only, so it is only ignored");
    return true;
  }
  set_aside(*segment, decision);
  const std::string name = segment->name();
  segment.reset();
  directory_->remove(name);
  directory_->sync();
  return true;
}

bool Store::Impl::load_from_hint(std::uint32_t id, bool report_missing) {
  SegmentSet::Entry& state = *segments_.find(id);
  std::string problem;
  const auto hint = hint::HintFile::load(*directory_, id, state.segment->size(), problem);
  if (!hint) {
    if (report_missing || problem != hint::kMissing)
      log("segment " + state.segment->describe() + ": " + problem + "; scanning the datafile");
    return false;
  }
  hint->for_each([&](const format::HintEntry& e) {
    replay(state,
           e.type == format::HintType::value ? format::RecordType::value
                                             : format::RecordType::tombstone,
           e.key, e.offset, e.record_size, e.expiry);
  });
  state.stats.bytes = state.segment->size();
  ++recovery_stats_.segments_from_hints;
  return true;
}

void Store::Impl::report_orphan_hints() {
  // A hint without its datafile: left by a crash between removing a merged
  // segment's hint and its datafile, or the only trace of a lost datafile
  // (which the manifest check refuses). Evidence is never deleted here:
  // pyk-fsck --repair moves it to the quarantine.
  for (const auto& name : directory_->list()) {
    const auto parsed = filename::parse(name);
    if (parsed.kind == filename::Kind::hint && segments_.find(parsed.segment_id) == nullptr &&
        !directory_->exists(filename::data(parsed.segment_id)))
      log("hint file " + name + " has no datafile; ignored (pyk-fsck --repair moves it to quarantine)");
  }
}

void Store::Impl::handle(const SegmentProblem& problem) {
  if (options_.read_only && manifest_) {
    std::string ignored;
    const std::optional<Manifest> now = manifest::read(*directory_, ignored);
    if (!now || now->generation != manifest_->generation) throw ManifestChanged{};
  }
  // Absolute consistency: a store that lost data it must have does not open.
  // (A recovery mode that sets such damage aside would decide here instead.)
  throw CorruptionError(problem.describe(), directory_->describe() + "/" + problem.file,
                        problem.offset);
}

void Store::Impl::write_manifest() {
  std::lock_guard manifest_lock(manifest_mutex_);
  Manifest next;
  {
    std::shared_lock state_lock(state_mutex_);
    next.segments = manifest_listing();
  }
  if (manifest_ && !manifest_unsure_ && manifest_->same_segments(next)) return;
  next.generation = (manifest_ ? manifest_->generation : 0) + 1;
  // A write that fails may have replaced MANIFEST or not: until one
  // succeeds, nothing is assumed listed.
  manifest_unsure_ = true;
  manifest::write(*directory_, next);
  manifest_ = std::move(next);
  manifest_unsure_ = false;
}

std::vector<ManifestEntry> Store::Impl::manifest_listing() const {
  std::vector<ManifestEntry> listing = segments_.listing();
  if (spare_ids_.empty()) return listing;
  for (const std::uint32_t id : spare_ids_)
    listing.push_back({.id = id, .active = false, .length = format::kFileHeaderSize, .unsynced = true});
  std::sort(listing.begin(), listing.end(),
            [](const ManifestEntry& a, const ManifestEntry& b) { return a.id < b.id; });
  return listing;
}

void Store::Impl::replay(SegmentSet::Entry& home, format::RecordType type, std::string_view key,
                         std::uint64_t offset, std::uint64_t size, std::uint64_t expiry) {
  const auto size32 = static_cast<std::uint32_t>(size);
  if (type == format::RecordType::value) {
    const Location location{home.stats.id, static_cast<std::uint32_t>(offset), size32, expiry};
    segments_.count_put(home, keydir_.put(key, location), location);
  } else {
    segments_.count_erase(home, keydir_.erase(key), size32);
  }
}

}  // namespace pyk
