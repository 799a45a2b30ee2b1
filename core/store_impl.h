// Store::Impl: the engine's state and the locks that guard it. Private to core/.
//
// Locking (always taken in this order):
//   write_mutex_   serialises appends to the active segment, rotation and
//                  keydir updates so the keydir follows log order.
//   state_mutex_   (shared) guards keydir_, segments_, segment_stats_ and
//                  active_; readers hold it shared only for a lookup, never
//                  across I/O.
//   sync_mutex_    group commit (sync_to): guards who syncs and how far
//                  the log is durable; never held across I/O or while
//                  taking another lock.
// maintenance_mutex_ is taken before all of them: one merge or hint write at
// a time (merge.cpp, maintenance.cpp). It is held across I/O, never by put/get.
#pragma once

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <thread>

#include "core/directory.h"
#include "core/format.h"
#include "core/keydir.h"
#include "core/record_reader.h"
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
  void for_each(const std::function<void(std::string_view, std::string_view)>& fn) const;
  void sync();
  Stats stats() const;
  void merge();  // merge.cpp

  // store_api.cpp: the members behind Store::ttl, update and scan.
  KeyTtl ttl(std::string_view key) const;
  bool update(std::string_view key, const std::function<Change(const KeyState&)>& fn);
  ScanPage scan(std::uint64_t cursor, std::string_view prefix, std::size_t count) const;

  std::uint64_t now_micros() const;
  void log(std::string_view message) const;

 private:
  struct SegmentState {
    std::shared_ptr<Segment> segment;
    SegmentStats stats;
    std::uint32_t rank = 0;  // replay rank: the id, or a merge output's merge rank (format.h)
    bool hinted = false;     // loaded from its hint file at open
  };
  // At close, an active segment at least this big is hinted, and so sealed
  // for good: the next open reads its hint instead of scanning it, and starts
  // a new segment. A smaller one is cheaper to scan and keep appending to.
  std::uint64_t seal_at_close_bytes() const {
    return std::min<std::uint64_t>(8u << 20, options_.max_segment_size / 2);
  }
  // Replay order: (rank, id), oldest first.
  static bool replays_before(const SegmentState& a, const SegmentState& b) {
    return a.rank != b.rank ? a.rank < b.rank : a.stats.id < b.stats.id;
  }

  // recovery.cpp
  std::uint32_t read_rank(std::uint32_t id);
  void load_segment(std::uint32_t id, bool is_newest);
  // Replays segment `id` from its hint file; false (reported) if it has no usable one.
  bool load_from_hint(std::uint32_t id, bool report_missing);
  void remove_orphan_hints();
  // Applies one value or tombstone record of segment `segment_id` (whose
  // stats are `home`) to the keydir and segment stats.
  void replay(std::uint32_t segment_id, SegmentStats& home, format::RecordType type,
              std::string_view key, std::uint64_t offset, std::uint64_t size,
              std::uint64_t expiry);
  void start_new_segment();

  void check_open() const;
  void check_writable() const;
  void validate(std::string_view key, std::string_view value) const;
  // Appends one encoded record (rotating first if needed) and returns its
  // location. REQUIRES: write_mutex_ held.
  Location append_locked(std::string_view encoded);
  void rotate_locked();
  // Accounts a keydir change in the per-segment stats: `home` is the stats of
  // the segment holding the new record. REQUIRES: state_mutex_ exclusive.
  void account(const std::optional<Location>& replaced, const Location* added,
               SegmentStats& home, std::uint32_t record_size);
  // The active segment's stats without a map lookup (the put path). REQUIRES:
  // write_mutex_ held, state_mutex_ exclusive, and a record just appended.
  SegmentStats& active_stats() {
    return active_state_ != nullptr ? active_state_->stats : segments_[active_id_].stats;
  }
  // Appends encoded records as one unit and returns the sequence number to
  // sync to. Calls apply(first_offset) under the state lock to update the keydir.
  template <class Apply>
  std::uint64_t append_and_apply(std::string_view encoded, Apply&& apply);
  // Waits until everything appended up to `sequence` is durable.
  void sync_to(std::uint64_t sequence);
  void sync_loop(std::stop_token stop);

  // maintenance.cpp: one background thread writes hint files for sealed
  // segments and runs automatic merges, off the write path.
  struct Job {
    enum class Kind { hint, merge_check } kind;
    std::uint32_t segment_id = 0;
  };
  void enqueue(Job job);
  void worker_loop(std::stop_token stop);
  void stop_worker();  // finishes queued hint jobs, drops merge checks
  void run_job(const Job& job);
  // REQUIRES: maintenance_mutex_ held.
  void write_hint(std::uint32_t id);
  std::vector<std::uint32_t> merge_candidates() const;

  // merge.cpp. REQUIRES: maintenance_mutex_ held; ids name sealed segments.
  void merge_segments(const std::vector<std::uint32_t>& ids);
  // The record at `location`, CRC checked. key and value point into `pinned`
  // (zero-copy backends) or into `buffer`; without `pin`, possibly into the
  // segment's own memory (Segment::view), valid only while `segment` lives.
  struct CheckedRecord {
    std::string_view key;
    std::string_view value;
    PinnedBytes pinned;
  };
  CheckedRecord read_record(const std::shared_ptr<Segment>& segment, const Location& location,
                            std::string& buffer, bool pin = false) const;
  // Checks the CRC and size of the record bytes read from `offset` of
  // `segment` and points out.key / out.value into them. Throws CorruptionError.
  static void check_record(const Segment& segment, std::uint64_t offset,
                           std::span<const std::byte> record, CheckedRecord& out);
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
  std::map<std::uint32_t, SegmentState> segments_;
  std::shared_ptr<Segment> active_;
  std::uint32_t active_id_ = 0;
  // &segments_[active_id_] while the active segment takes appends (map nodes
  // do not move); null once it is sealed, as a merge may then remove it.
  // Written under write_mutex_ and state_mutex_ (exclusive).
  SegmentState* active_state_ = nullptr;
  std::uint64_t expiring_keys_ = 0;  // keydir entries with an expiry
  // Where the active segment must be cut back to before the next append: set
  // when a failed append left part of a record and cutting it failed too.
  std::optional<std::uint64_t> torn_end_;  // guarded by write_mutex_
  // A segment whose creation failed half-way and could not be removed then;
  // start_new_segment removes it before making another.
  std::optional<std::string> unfinished_segment_;  // guarded by write_mutex_

  // Ids are never reused: rotation and merge outputs both take the next one.
  std::atomic<std::uint32_t> next_segment_id_{1};

  std::mutex maintenance_mutex_;
  std::atomic<std::uint64_t> merges_{0};
  std::mutex jobs_mutex_;
  std::condition_variable_any jobs_wake_;
  std::deque<Job> jobs_;  // guarded by jobs_mutex_
  std::jthread worker_;

  std::mutex sync_mutex_;
  std::condition_variable sync_done_;    // a sync ended (syncing_ went false)
  bool syncing_ = false;                 // a leader is syncing; guarded by sync_mutex_
  // The last sync: how many appends it covered and how long it took
  // (a leader waits for as many writers, for at most half as long).
  // Guarded by sync_mutex_.
  std::uint64_t last_group_ = 1;
  std::chrono::steady_clock::duration last_sync_duration_{};
  static constexpr std::chrono::microseconds kMaxGroupWait{500};
  // Written under write_mutex_; the sync leader polls it without the lock.
  std::atomic<std::uint64_t> appended_sequence_{0};
  std::uint64_t synced_sequence_ = 0;    // guarded by sync_mutex_
  std::mutex sync_loop_mutex_;
  std::condition_variable_any sync_loop_wake_;
  std::jthread sync_thread_;
};

}  // namespace pyk
