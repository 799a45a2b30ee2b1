// pyk::Store — a Bitcask: append-only datafiles plus an in-memory keydir.
//
//   auto db = pyk::Store::open("/var/lib/app/db");
//   db.put("user:1", "Ada");
//   std::optional<std::string> v = db.get("user:1");
//
// Thread safety: every member may be called from many threads at once.
// Reads (get, contains, size, keys, for_each, stats) run concurrently with each
// other and with writes; a get never waits for an fsync or a rotation. Writes
// (put, erase) are serialised; each one is atomic: a concurrent reader sees
// the old value or the new one, never a mix. A value becomes visible to readers
// as soon as it is appended, which under SyncPolicy::always is just before it
// is durable.
//
// Errors are exceptions from core/error.h; "not found" is std::nullopt / false.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "options.h"
#include "segment.h"
#include "write_batch.h"

namespace pyk {

struct SegmentStats {
  std::uint32_t id = 0;
  std::uint64_t bytes = 0;       // file size, header included
  std::uint64_t live_keys = 0;   // keys whose newest record is here
  std::uint64_t live_bytes = 0;  // bytes of those records
  std::uint64_t dead_bytes = 0;  // overwritten or erased records and tombstones
  bool active = false;           // the segment being appended to
};

struct Stats {
  std::uint64_t keys = 0;               // keys in the keydir (expired ones included)
  std::uint64_t disk_bytes = 0;         // sum of segment sizes
  std::uint64_t keydir_bytes = 0;       // memory held by the keydir
  std::uint64_t torn_tails_dropped = 0; // torn tails cut off when the store was opened
  std::uint64_t torn_bytes_dropped = 0;
  // Point-in-time recovery at open (RecoveryMode): byte ranges after damage
  // in the newest segment moved to the quarantine, and their bytes.
  std::uint64_t ranges_set_aside = 0;
  std::uint64_t bytes_set_aside = 0;
  std::uint64_t segments_from_hints = 0; // sealed segments loaded from hint files at open
  std::uint64_t merges = 0;             // merges completed since open
  std::vector<SegmentStats> segments;   // oldest first (replay order)
};

class Store {
 public:
  // Opens (or creates) the store in directory `path`. Read-only
  // (Options::read_only), any number of stores may open beside the writer
  // (in any process) while it writes, rotates and merges: a segment merged
  // away between listing and opening makes the open list again.
  // Throws LockError if another writer has it open, CorruptionError if a
  // datafile is damaged anywhere but in the newest one (there
  // Options::recovery decides), IoError, InvalidArgument for bad options.
  static Store open(const std::string& path, Options options = {});

  Store(Store&&) noexcept;
  Store& operator=(Store&&) noexcept;
  // Closes the store; errors are reported through Options::logger. Call
  // close() yourself to get them as exceptions.
  ~Store();

  // Writes key -> value. Throws InvalidArgument for an empty or oversized key,
  // an oversized value, or a read-only store.
  void put(std::string_view key, std::string_view value);
  // The same, expiring `ttl` from now (ttl > 0).
  void put(std::string_view key, std::string_view value, std::chrono::microseconds ttl);

  std::optional<std::string> get(std::string_view key) const;
  // Reads into `out` (reusing its capacity); false if the key is not there.
  bool get_into(std::string_view key, std::string& out) const;
  // The value without a copy on the mmap and memory backends (one copy on
  // file). It stays valid and unchanged while the PinnedValue lives, whatever
  // happens to the store: overwrites, merge, remapping, even close().
  struct PinnedValue {
    std::string_view value;
    std::shared_ptr<const void> keep_alive;
  };
  std::optional<PinnedValue> get_pinned(std::string_view key) const;
  bool contains(std::string_view key) const;
  // Removes key; false if it was not there (or had expired).
  bool erase(std::string_view key);

  // Applies every operation of `batch` atomically: concurrent readers and
  // recovery after a crash see all of it or none of it. Erasing a missing key
  // inside a batch is not an error. Throws before writing anything if any
  // operation is invalid.
  void write(const WriteBatch& batch);

  // Live (unexpired) keys.
  std::size_t size() const;
  // Live keys starting with `prefix`, sorted.
  std::vector<std::string> keys(std::string_view prefix = {}) const;
  // Calls fn(key, value) for every live key, in storage order (fast to read).
  // Sees the keys live when it starts; fn may call other members.
  void for_each(const std::function<void(std::string_view key, std::string_view value)>& fn) const;

  // Makes every write so far durable.
  void sync();

  // Compaction: rewrites the live records of every sealed segment (never the
  // active one) into new segments with hint files, then removes the old
  // segments. Drops overwritten values, erased keys and expired keys. Runs
  // online: other threads keep reading and writing meanwhile, and a key
  // written during the merge keeps its newest value. One merge (or hint
  // write) runs at a time: a second call waits for the running one, then
  // merges whatever is sealed by then. Does nothing if no sealed segment
  // holds dead bytes or expiring keys. Crash-safe at every step.
  // Throws InvalidArgument on a read-only store, CorruptionError if a sealed
  // segment is damaged (nothing is lost: the old segments stay), IoError.
  void merge();
  Stats stats() const;

  // Read-only stores: catches up with the writer. Applies only what it
  // appended since the open or the last refresh (the new bytes of the newest
  // segment, then new segments, from their hint files where they have one);
  // after a merge, rebuilds the keydir from the segments now there (hint
  // files first), reading the files with no lock held. Concurrent reads see
  // the store as it was before or after, never part of a refresh; they wait
  // while new records are applied. Values and iterations already under way
  // stay valid: files merged away stay open while anything uses them.
  // Throws InvalidArgument on a writable store (always up to date),
  // CorruptionError if a sealed segment is damaged (the store then holds a
  // prefix of the log), IoError.
  void refresh();
  // Syncs and releases the store; every later call throws InvalidArgument.
  void close();

 private:
  class Impl;
  explicit Store(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace pyk
