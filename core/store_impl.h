// Store::Impl: the engine's state and the locks that guard it. Private to core/.
// It composes the objects that do the work — SegmentSet (segments and their
// accounting), LogWriter (the active segment), GroupCommit (durability),
// MaintenanceQueue (background jobs), KeyDir — and its member functions live
// in store.cpp (lifecycle), store_write.cpp, store_read.cpp, recovery.cpp
// (open), merge.cpp and maintenance.cpp.
//
// Locking (always taken in this order):
//   write_mutex_   serialises appends (writer_), rotation and every change
//                  to keydir_ (merge's switch-over too), so the keydir follows
//                  log order, and a holder of write_mutex_ may read keydir_
//                  with no other lock and no gate: nothing changes it then.
//                  (A read-only store's refresh changes it without: such a
//                  store has no writer, and nothing there reads it so.)
//   state_mutex_   (shared) guards keydir_ and segments_; readers hold it
//                  shared only for a lookup, never across I/O. Every change
//                  to them takes it through StateWriteLock, which also
//                  closes gate_: the get path looks up through gate_
//                  (core/read_gate.h) without locking state_mutex_ at all.
//   GroupCommit's own mutex is never held while either is being taken.
// maintenance_mutex_ is taken before all of them: one merge or hint write at
// a time (merge.cpp, maintenance.cpp). It is held across I/O, never by put/get.
// manifest_mutex_ serialises manifest rewrites (rotation, merge, open, close);
// taken after write_mutex_ when both are held, before state_mutex_.
// log_mutex_ is taken last, by log() only, around the call to the logger.
#pragma once

#include <algorithm>
#include <atomic>
#include <future>
#include <mutex>
#include <optional>
#include <shared_mutex>

#include "core/directory.h"
#include "core/file_header.h"
#include "core/format.h"
#include "core/group_commit.h"
#include "core/hint_file.h"
#include "core/keydir.h"
#include "core/keydir_snapshot.h"
#include "core/log_writer.h"
#include "core/maintenance_queue.h"
#include "core/rate_limiter.h"
#include "core/manifest.h"
#include "core/read_gate.h"
#include "core/replay_order.h"
#include "core/record_read.h"
#include "core/record_reader.h"
#include "core/recovery_rule.h"
#include "core/segment_check.h"
#include "core/segment_set.h"
#include "core/spinning_mutex.h"
#include "core/store.h"

namespace pyk {

class Store::Impl {
 public:
  Impl(std::string path, Options options);
  ~Impl();

  void open();  // recovery.cpp
  void close();

  void put(std::string_view key, std::string_view value, std::uint64_t expiry);
  // put encodes a record of up to this many key and value bytes under
  // write_mutex_ (~60 ns of copying and checksumming), a bigger one before.
  static constexpr std::size_t kEncodeUnderLockBytes = 1024;
  void write(const WriteBatch& batch);
  // Finds the newest record of `key` and calls fn(segment, location) to read
  // it (with no lock held); false if absent or expired.
  template <class Fn>
  bool with_record(std::string_view key, Fn&& fn) const;
  bool get_into(std::string_view key, std::string& out) const;
  std::optional<Store::PinnedValue> get_pinned(std::string_view key) const;
  void get_many_into(std::span<const std::string_view> keys,
                     std::vector<std::optional<std::string>>& out) const;
  bool erase(std::string_view key);
  std::optional<std::string> get(std::string_view key) const;
  bool contains(std::string_view key) const;
  std::size_t size() const;
  std::vector<std::string> keys(std::string_view prefix) const;
  // Stops when fn returns false; throws CorruptionError after the walk if a record was damaged.
  void for_each(const std::function<bool(std::string_view, std::string_view)>& fn) const;
  void sync();
  Stats stats() const;
  Store::MergeResult merge();  // merge.cpp
  void seal_active();
  void refresh();  // refresh.cpp

  // store_api.cpp: the members behind Store::ttl, update and scan.
  KeyTtl ttl(std::string_view key) const;
  bool update(std::string_view key, const std::function<Change(const KeyState&)>& fn);
  ScanPage scan(std::uint64_t cursor, std::string_view prefix, std::size_t count) const;

  std::uint64_t now_micros() const;
  // A put's record time, which nothing but the tools reads: the kernel's
  // coarse clock (to its tick, 1-4 ms), 3.5 ns a call on this VM where
  // now_micros() takes 26.7 (a put takes ~500). Options::clock if set.
  std::uint64_t write_time_micros() const;
  void log(std::string_view message) const;

 private:
  // At close, an active segment at least this big is hinted, and so sealed
  // for good: the next open reads its hint instead of scanning it, and starts
  // a new segment. A smaller one is cheaper to scan and keep appending to.
  std::uint64_t seal_at_close_bytes() const {
    return std::min<std::uint64_t>(8u << 20, options_.max_segment_size / 2);
  }

  // recovery.cpp
  // Reads the manifest, lists the directory and loads every segment the
  // store has, oldest first; returns them in replay order.
  std::vector<ReplayPosition> load_segments();
  std::uint32_t read_rank(std::uint32_t id);
  // Whether segment `id` may end in a torn tail: the active one in the
  // manifest (without a manifest: the newest in replay order).
  bool may_have_torn_tail(std::uint32_t id, bool is_newest) const;
  // The datafiles of `present` the manifest lists, after checking each listed
  // one is there with its length; the unlisted ones are set aside.
  std::vector<ReplayPosition> listed_segments(const std::vector<ReplayPosition>& present);
  // Loads segment `id`; with `snapshot_size`, its keys came from the keydir
  // snapshot, which describes it at that size.
  void load_segment(std::uint32_t id, bool is_newest, std::optional<std::uint64_t> snapshot_size);
  // Replays segment `id` from its hint file; false (reported) if it has no usable one.
  bool load_from_hint(std::uint32_t id, bool report_missing);
  // Starts the first active segment; on a full disk, logs and leaves none.
  void start_segment_if_space();
  // Replays the committed units of `state`'s segment from `start` on. A
  // segment that may not have a torn tail must be whole (handle()); in the
  // active one replay stops at the first problem, and the result says (by
  // Options::recovery) what to do from there, after throwing CorruptionError
  // if the mode refuses. Counts and logs a torn tail if `report`.
  RecoveryDecision replay_log(SegmentSet::Entry& state, bool tail_allowed, std::uint64_t start,
                              bool report);
  // The newest segment's header is bad: true if the recovery rule set the
  // whole file aside (then removed, unless read-only).
  bool set_aside_bad_header(std::shared_ptr<Segment>& segment, const FileHeaderCheck& header);
  // Moves the bytes of `segment` past decision.keep_end to the quarantine.
  void set_aside(const Segment& segment, const RecoveryDecision& decision);

  // store_snapshot.cpp: the keydir snapshot (core/keydir_snapshot.h).
  // Loads it into the empty keydir if it describes the segments of `order`
  // and the manifest exactly; false (and reported, unless there is none) if not.
  bool load_snapshot(const std::vector<ReplayPosition>& order);
  // A segment whose keys the snapshot holds: opened, not replayed.
  void load_covered_by_snapshot(SegmentSet::Entry& state, std::uint64_t size);
  // The segment accounting of the keys the snapshot brought.
  void count_snapshot_keys();
  // At close: saves the keydir if every segment is synced and listed as it
  // is (removes a stale one, or any under Options::keydir_snapshot = false);
  // a failure is logged (the next open replays the hints).
  void write_snapshot();
  // close sealing the active segment `sealing` for good writes KEYDIR on a
  // thread of its own, beside the seal and the hint (one after the other,
  // the three were most of a close). It describes `planned`, the manifest
  // close writes next, and stays KEYDIR.tmp until that manifest is written.
  class ClosingSnapshot {
   public:
    ClosingSnapshot() = default;
    ClosingSnapshot(Directory& directory, Manifest planned, std::future<void> written);
    ClosingSnapshot(ClosingSnapshot&&) = default;
    ClosingSnapshot& operator=(ClosingSnapshot&&) = delete;
    ~ClosingSnapshot();  // left unfinished (an error in between): waits, then discards it
    bool started() const { return written_.valid(); }

   private:
    friend class Impl;
    Directory* directory_ = nullptr;
    Manifest planned_;
    std::future<void> written_;
  };
  ClosingSnapshot start_snapshot(std::uint32_t sealing);
  // Publishes it if the manifest written is the planned one, else discards
  // it. False if write_snapshot has yet to run: nothing was started, or the
  // manifest written is not the planned one (a failure is logged).
  bool finish_snapshot(ClosingSnapshot& pending);
  // The sizes of `listing`'s segments for a snapshot, or none if one cannot
  // stand for them: each must be sealed (synced) with a hint (that of
  // `hint_coming` is being written).
  std::vector<keydir_snapshot::SegmentSize> snapshot_sizes(const std::vector<ManifestEntry>& listing,
                                                           std::uint32_t hint_coming = 0) const;

  // refresh.cpp: a read-only store beside a live writer.
  // load_segments(), starting over while a segment vanishes under it
  // (merged away) or the manifest changes.
  std::vector<ReplayPosition> load_relisting();
  // Applies what the writer appended since the last look, if it only
  // appended; false if a merge changed the segments (nothing applied then).
  bool refresh_appended();
  // Rebuilds the keydir and segments from a fresh read-only open.
  void reload();
  void report_orphan_hints();
  // The one place that decides what a problem found in a segment the store
  // must have does to the open: today it refuses (CorruptionError naming the
  // file). A read-only store whose manifest a writer replaced meanwhile
  // throws ManifestChanged instead, and load_relisting starts over.
  void handle(const SegmentProblem& problem);
  // Lists the segments in the manifest, if they changed since the last
  // write. REQUIRES: not a read-only store; manifest_mutex_ not held.
  void write_manifest();
  // What the manifest lists: segments_ and the spares. REQUIRES: state_mutex_ held.
  std::vector<ManifestEntry> manifest_listing() const;

 public:
  struct ManifestChanged {};

 private:
  // Applies one value or tombstone record of segment `home` to the keydir
  // and segment stats.
  void replay(SegmentSet::Entry& home, format::RecordType type,
              std::string_view key, std::uint64_t offset, std::uint64_t size,
              std::uint64_t expiry);

  // state_mutex_ exclusively with gate_ closed: what every change to keydir_
  // or segments_ holds.
  class StateWriteLock {
   public:
    explicit StateWriteLock(Impl& impl) : lock_(impl.state_mutex_), gate_(impl.gate_) {
      gate_.close();
    }
    ~StateWriteLock() { gate_.open(); }
    StateWriteLock(const StateWriteLock&) = delete;
    StateWriteLock& operator=(const StateWriteLock&) = delete;

   private:
    std::unique_lock<std::shared_mutex> lock_;
    ReadGate& gate_;
  };

  // Segment handles taken out of the store (merged away, replaced, closed).
  // A get may still be reading through one (core/read_gate.h), so they are
  // destroyed only after gate_.wait_for_reads(), on every way out of the
  // scope, an exception's too. Declare it before the StateWriteLock under
  // which they are taken: it waits once state_mutex_ is released.
  class DroppedSegments {
   public:
    explicit DroppedSegments(const ReadGate& gate) : gate_(gate) {}
    ~DroppedSegments() {
      if (!segments_.empty()) gate_.wait_for_reads();
    }
    DroppedSegments(const DroppedSegments&) = delete;
    DroppedSegments& operator=(const DroppedSegments&) = delete;
    // Room for `n` more, so that add() cannot fail once a handle is out of the store.
    void reserve(std::size_t n) { segments_.reserve(segments_.size() + n); }
    void add(std::shared_ptr<Segment> segment) {
      if (segment) segments_.push_back(std::move(segment));
    }
    void add(std::vector<std::shared_ptr<Segment>> segments) {
      if (segments_.empty()) {
        segments_ = std::move(segments);
        return;
      }
      reserve(segments.size());
      for (auto& segment : segments) add(std::move(segment));
    }

   private:
    const ReadGate& gate_;
    std::vector<std::shared_ptr<Segment>> segments_;
  };

  void check_open() const;
  void check_writable() const;
  // The empty key is invalid in every call (InvalidArgument).
  static void check_key(std::string_view key);
  void validate(std::string_view key, std::string_view value) const;
  // LogWriter events: a new active segment (a spare already `listed`), the
  // old one sealed by a rotation, spares wanted.
  // REQUIRES: write_mutex_ held (or open() running).
  void segment_started(std::uint32_t id, const std::shared_ptr<Segment>& segment, bool listed);
  void segment_sealed(std::uint32_t id);
  void spare_wanted();
  // The active segment's entry (the put path). REQUIRES: write_mutex_ held,
  // state_mutex_ exclusive, and a record just appended.
  SegmentSet::Entry& active_entry() {
    SegmentSet::Entry* entry = segments_.active();
    return entry != nullptr ? *entry : *segments_.find(writer_->active_id());
  }
  // Appends `encoded` (one record or one batch) as one unit, then calls
  // apply(location, home) under the exclusive state lock to update the keydir
  // and accounting. Returns the sequence number to sync to.
  // REQUIRES: write_mutex_ held, the store open and writable.
  template <class Apply>
  std::uint64_t append_and_apply(std::string_view encoded, Apply&& apply) {
    const Location at = writer_->append(encoded);
    const std::uint64_t sequence = commit_.count_append();
    StateWriteLock state_lock(*this);
    SegmentSet::Entry& home = active_entry();
    apply(at, home);
    home.stats.bytes = writer_->active()->size();
    return sequence;
  }
  // After a write's append (no lock held): durable before returning if the
  // policy says so.
  void wait_durable(std::uint64_t sequence) {
    if (options_.sync == SyncPolicy::always) commit_.sync_to(sequence);
  }

  // maintenance.cpp: what the maintenance queue's jobs do.
  using Job = MaintenanceQueue::Job;
  void run_job(const Job& job);
  // Writes segment `id`'s hint file. Superseded: whether to leave out the
  // values a later record of the segment replaces (a keydir lookup per
  // record, the most of a hint's time) or to list every record (replay then
  // takes a step more per such value, with the same result).
  // `durable`: as for hint::write (close syncs the datafile meanwhile).
  // REQUIRES: maintenance_mutex_ held.
  enum class Superseded { left_out, listed };
  void write_hint(std::uint32_t id, Superseded superseded = Superseded::left_out,
                  const hint::DurableFn& durable = {});
  // Syncs segment `id` if a rotation sealed it unsynced (true then); the next
  // manifest rewrite lists it as sealed, with its exact length.
  // REQUIRES: maintenance_mutex_ held.
  bool sync_sealed(std::uint32_t id);
  // Makes spares until the writer holds Options::spare_segments: each created
  // durably, listed in the manifest, then handed to the writer.
  // REQUIRES: maintenance_mutex_ held.
  void make_spares();
  void make_spares_until_enough();
  // Unlists spares (durably) and then removes their files: close's, or one
  // a rotation overtook. The files stay if the manifest cannot be written.
  void drop_spares(const std::vector<std::uint32_t>& ids);
  // At open: the listed spares a crash left unused, but for `newest`; and
  // dropping them (from the store, the manifest, then the directory).
  std::vector<std::uint32_t> unused_spares(std::uint32_t newest) const;
  void drop_unused_spares(const std::vector<std::uint32_t>& unused);
  // Sealed segments past the automatic merge triggers, and past the input
  // thresholds (Options), keys expired by now counting as dead.
  std::vector<std::uint32_t> merge_candidates() const;
  std::vector<std::uint32_t> merge_inputs() const;

  // merge.cpp. REQUIRES: maintenance_mutex_ held; ids name sealed segments.
  // `throttled` (automatic merges): its writes go through merge_limiter_,
  // and it throws MergeStopped once close cancels that.
  struct MergeStopped {};
  Store::MergeResult merge_segments(const std::vector<std::uint32_t>& ids, bool throttled = false);
  // An automatic merge of `ids` (maintenance.cpp): merge_segments, throttled,
  // on one group of them after another (SegmentSet::next_merge_group), until
  // none is left or close stops it. REQUIRES: maintenance_mutex_ held.
  void merge_in_groups(std::vector<std::uint32_t> ids);
  // Removes the files of retired segment `id` (a merge's input, unlisted)
  // durably, then forgets it. Throws IoError, and `id` stays retired.
  void remove_retired(std::uint32_t id);
  // Tries remove_retired again on the inputs an earlier merge could not
  // remove; logs what still fails.
  void remove_retired_leftovers();
  // Automatic merge is on (Options: either trigger set).
  bool auto_merge() const { return options_.merge_dead_fraction > 0 || options_.merge_dead_bytes > 0; }
  bool expired(const Location& location, std::uint64_t now) const {
    return location.expiry != 0 && location.expiry <= now;
  }

  const std::string path_;
  Options options_;
  std::shared_ptr<Directory> directory_;
  std::unique_ptr<DirectoryLock> lock_;
  std::atomic<bool> open_{false};  // read by every call, written by open() and close()
  Stats recovery_stats_;  // torn-tail counters from open

  mutable SpinningMutex write_mutex_;  // held briefly per put: spins before it sleeps
  mutable std::shared_mutex state_mutex_;
  ReadGate gate_;
  // One logger call at a time: the caller's threads and the background ones all log.
  mutable std::mutex log_mutex_;
  KeyDir keydir_;
  SegmentSet segments_;
  // The end of the log; a read-only store has none. Guarded by write_mutex_.
  std::optional<LogWriter> writer_;
  // Segments a rotation sealed without syncing them, oldest first, until the
  // maintenance thread has synced them (sync_sealed). Every group commit
  // syncs them before the active segment. Guarded by write_mutex_.
  std::vector<std::pair<std::uint32_t, std::shared_ptr<Segment>>> unsynced_;
  // Ids are never reused: rotation, spares and merge outputs all take the next one.
  std::atomic<std::uint32_t> next_segment_id_{1};
  // Spares listed in the manifest (open-ended, header only) and not yet the
  // active segment: made by make_spares, taken by a rotation. GUARDED_BY(state_mutex_).
  std::vector<std::uint32_t> spare_ids_;
  std::atomic<bool> spare_job_queued_{false};
  // Making one failed (a full disk, say): none is asked for again until the
  // writer has started a segment of its own, so a failing disk logs it once.
  std::atomic<bool> spares_failing_{false};

  std::mutex manifest_mutex_;
  // As last written (or read at open). GUARDED_BY(manifest_mutex_) once open.
  std::optional<Manifest> manifest_;
  bool manifest_unsure_ = false;  // a write failed: the file may hold either version
  // The manifest generation of the KEYDIR open loaded (0: none): while the
  // manifest has it, KEYDIR still describes the store and close keeps it.
  std::uint64_t snapshot_generation_ = 0;
  // What load_snapshot counted, for count_snapshot_keys once the segments are open.
  std::pair<std::vector<keydir_snapshot::SegmentSize>, std::vector<Location>> snapshot_counts_;

  std::mutex maintenance_mutex_;
  // Throttles automatic merges; cancelled by close.
  RateLimiter merge_limiter_{options_.merge_rate_bytes_per_second};
  std::atomic<std::uint64_t> merges_{0};
  MaintenanceQueue maintenance_;

  // Durability: counts appends (under write_mutex_) and syncs them in groups.
  GroupCommit commit_{options_.sync, [this] {
                        std::lock_guard write_lock(write_mutex_);
                        GroupCommit::Target target{writer_ ? writer_->active() : nullptr,
                                                   commit_.appended()};
                        for (const auto& [id, segment] : unsynced_) target.sealed.push_back(segment);
                        return target;
                      }};
};

}  // namespace pyk
