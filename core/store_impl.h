// Store::Impl: the engine's state and the locks that guard it. Private to core/.
//
// Locking (always taken in this order):
//   write_mutex_   serialises appends to the active segment, rotation and
//                  keydir updates so the keydir follows log order.
//   state_mutex_   (shared) guards keydir_, segments_ and
//                  the active segment; readers hold it shared only for a lookup, never
//                  across I/O.
//   (GroupCommit has a mutex of its own, never held while this one is taken.)
// maintenance_mutex_ is taken before all of them: one merge or hint write at
// a time (merge.cpp, maintenance.cpp). It is held across I/O, never by put/get.
// manifest_mutex_ serialises manifest rewrites (rotation, merge, open, close);
// taken after write_mutex_ when both are held, before state_mutex_.
#pragma once

#include <algorithm>
#include <atomic>
#include <mutex>
#include <optional>
#include <shared_mutex>

#include "core/directory.h"
#include "core/format.h"
#include "core/group_commit.h"
#include "core/keydir.h"
#include "core/log_writer.h"
#include "core/maintenance_queue.h"
#include "core/manifest.h"
#include "core/record_read.h"
#include "core/record_reader.h"
#include "core/replay_order.h"
#include "core/segment_check.h"
#include "core/segment_set.h"
#include "core/store.h"

namespace pyk {

class Store::Impl {
 public:
  Impl(std::string path, Options options);
  ~Impl();

  void open();  // recovery.cpp
  void close();

  void put(std::string_view key, std::string_view value, std::uint64_t expiry);
  void write(const WriteBatch& batch);
  // Finds the newest record of `key` and reads it; false if absent or expired.
  // `pin`: fn's record must carry a keep_alive where the backend has one.
  template <class Fn>
  bool with_record(std::string_view key, std::string& buffer, bool pin, Fn&& fn) const;
  bool get_into(std::string_view key, std::string& out) const;
  std::optional<Store::PinnedValue> get_pinned(std::string_view key) const;
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

  std::uint64_t now_micros() const;
  void log(std::string_view message) const;

 private:
  // At close, an active segment at least this big is hinted, and so sealed
  // for good: the next open reads its hint instead of scanning it, and starts
  // a new segment. A smaller one is cheaper to scan and keep appending to.
  std::uint64_t seal_at_close_bytes() const {
    return std::min<std::uint64_t>(8u << 20, options_.max_segment_size / 2);
  }

  // recovery.cpp
  std::uint32_t read_rank(std::uint32_t id);
  // Whether segment `id` may end in a torn tail: the active one in the
  // manifest (without a manifest: the newest in replay order).
  bool may_have_torn_tail(std::uint32_t id, bool is_newest) const;
  // The datafiles of `present` the manifest lists, after checking each listed
  // one is there with its length; the unlisted ones are set aside.
  std::vector<ReplayPosition> listed_segments(const std::vector<ReplayPosition>& present);
  void load_segment(std::uint32_t id, bool is_newest);
  // Replays segment `id` from its hint file; false (reported) if it has no usable one.
  bool load_from_hint(std::uint32_t id, bool report_missing);
  void report_orphan_hints();
  // The one place that decides what a problem found in a segment the store
  // must have does to the open: today it refuses (CorruptionError naming the
  // file). A read-only store whose manifest a writer replaced meanwhile
  // throws ManifestChanged instead, and Store::open starts over.
  void handle(const SegmentProblem& problem);
  // Lists the segments in the manifest, if they changed since the last
  // write. REQUIRES: not a read-only store; manifest_mutex_ not held.
  void write_manifest();

 public:
  struct ManifestChanged {};

 private:
  // Applies one value or tombstone record of segment `home` to the keydir
  // and segment stats.
  void replay(SegmentSet::Entry& home, format::RecordType type,
              std::string_view key, std::uint64_t offset, std::uint64_t size,
              std::uint64_t expiry);

  void check_open() const;
  void check_writable() const;
  void validate(std::string_view key, std::string_view value) const;
  // LogWriter events: a new active segment, the old one sealed by a rotation.
  // REQUIRES: write_mutex_ held (or open() running).
  void segment_started(std::uint32_t id, const std::shared_ptr<Segment>& segment);
  void segment_sealed(std::uint32_t id);
  // The active segment's entry (the put path). REQUIRES: write_mutex_ held,
  // state_mutex_ exclusive, and a record just appended.
  SegmentSet::Entry& active_entry() {
    SegmentSet::Entry* entry = segments_.active();
    return entry != nullptr ? *entry : *segments_.find(writer_->active_id());
  }
  // Appends encoded records as one unit and returns the sequence number to
  // sync to. Calls apply(first_offset) under the state lock to update the keydir.
  template <class Apply>
  std::uint64_t append_and_apply(std::string_view encoded, Apply&& apply);

  // maintenance.cpp: what the maintenance queue's jobs do.
  using Job = MaintenanceQueue::Job;
  void run_job(const Job& job);
  // REQUIRES: maintenance_mutex_ held.
  void write_hint(std::uint32_t id);
  // Sealed segments past the automatic merge triggers, and past the input
  // thresholds (Options), keys expired by now counting as dead.
  std::vector<std::uint32_t> merge_candidates() const;
  std::vector<std::uint32_t> merge_inputs() const;

  // merge.cpp. REQUIRES: maintenance_mutex_ held; ids name sealed segments.
  Store::MergeResult merge_segments(const std::vector<std::uint32_t>& ids);
  bool expired(const Location& location, std::uint64_t now) const {
    return location.expiry != 0 && location.expiry <= now;
  }

  const std::string path_;
  Options options_;
  std::shared_ptr<Directory> directory_;
  std::unique_ptr<DirectoryLock> lock_;
  std::atomic<bool> open_{false};  // read by every call, written by open() and close()
  Stats recovery_stats_;  // torn-tail counters from open

  mutable std::mutex write_mutex_;
  mutable std::shared_mutex state_mutex_;
  KeyDir keydir_;
  SegmentSet segments_;
  // The end of the log; a read-only store has none. Guarded by write_mutex_.
  std::optional<LogWriter> writer_;
  // Ids are never reused: rotation and merge outputs both take the next one.
  std::atomic<std::uint32_t> next_segment_id_{1};

  std::mutex manifest_mutex_;
  // As last written (or read at open). GUARDED_BY(manifest_mutex_) once open.
  std::optional<Manifest> manifest_;
  bool manifest_unsure_ = false;  // a write failed: the file may hold either version

  std::mutex maintenance_mutex_;
  std::atomic<std::uint64_t> merges_{0};
  MaintenanceQueue maintenance_;

  // Durability: counts appends (under write_mutex_) and syncs them in groups.
  GroupCommit commit_{options_.sync, [this] {
                        std::lock_guard write_lock(write_mutex_);
                        return GroupCommit::Target{writer_ ? writer_->active() : nullptr,
                                                   commit_.appended()};
                      }};
};

}  // namespace pyk
