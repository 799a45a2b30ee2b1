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
// Errors are exceptions from core/error.h (allocation failures included);
// "not found" is std::nullopt / false. The empty key is never valid: every
// call given one throws InvalidArgument.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "core/options.h"
#include "core/segment.h"
#include "core/write_batch.h"

namespace pyk {

struct SegmentStats {
  std::uint32_t id = 0;
  std::uint64_t bytes = 0;       // file size, header included
  std::uint64_t live_keys = 0;   // unexpired keys whose newest record is here
  std::uint64_t live_bytes = 0;  // bytes of those records
  std::uint64_t dead_bytes = 0;  // overwritten, erased or expired records and tombstones
  bool active = false;           // the segment being appended to
};

struct Stats {
  std::uint64_t keys = 0;               // keys in the keydir (expired ones included)
  std::uint64_t disk_bytes = 0;         // sum of segment sizes
  std::uint64_t keydir_bytes = 0;       // memory held by the keydir
  std::uint64_t torn_tails_dropped = 0; // torn tails cut off when the store was opened
  std::uint64_t torn_bytes_dropped = 0;
  std::uint64_t segments_from_hints = 0; // sealed segments loaded from hint files at open
  std::uint64_t merges = 0;             // merges completed since open
  std::vector<SegmentStats> segments;   // oldest first (replay order)
};

class Store {
 public:
  // Opens (or creates) the store in directory `path`.
  // Throws LockError if another writer has it open, CorruptionError if a
  // datafile is damaged anywhere but in the tail of the newest one, IoError,
  // InvalidArgument for bad options.
  static Store open(const std::string& path, Options options = {});

  // A moved-from store is like a closed one: every call throws InvalidArgument.
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
  // fn returns void, or bool: false stops the walk. Sees the keys live when it
  // starts; fn may call other members. A key whose record is damaged is
  // skipped (never replaced by an older value); after the walk a
  // CorruptionError names the first such record and counts them.
  template <class Fn>
  void for_each(Fn&& fn) const {
    if constexpr (std::is_void_v<std::invoke_result_t<Fn&, std::string_view, std::string_view>>) {
      visit([&](std::string_view k, std::string_view v) { fn(k, v); return true; });
    } else {
      visit([&](std::string_view k, std::string_view v) { return static_cast<bool>(fn(k, v)); });
    }
  }
  // for_each's walk: fn returns false to stop.
  void visit(const std::function<bool(std::string_view key, std::string_view value)>& fn) const;

  // Makes every write so far durable.
  void sync();

  // Compaction: rewrites the live records of the sealed segments whose dead
  // fraction or dead bytes reach Options::merge_input_dead_fraction /
  // merge_input_dead_bytes (never the active one) into new segments with hint
  // files, then removes them. Drops overwritten values, erased keys and
  // expired keys. Runs online: other threads keep reading and writing
  // meanwhile, and a key written during the merge keeps its newest value. One
  // merge (or hint write) runs at a time: a second call waits for the running
  // one, then merges whatever qualifies by then. Crash-safe at every step.
  // Throws InvalidArgument on a read-only store, CorruptionError if an input
  // is damaged (nothing is lost: the old segments stay), IoError.
  struct MergeResult {
    std::size_t segments_in = 0, segments_out = 0;
    std::uint64_t bytes_in = 0, bytes_out = 0;
  };
  MergeResult merge();
  // Seals the active segment (if it holds any record) and starts a new one,
  // so that merge() can take what a small store holds. Throws like put.
  void seal_active();
  Stats stats() const;
  // Syncs and releases the store; every later call throws InvalidArgument,
  // except close() itself, which then does nothing (also on a moved-from store).
  void close();

 private:
  class Impl;
  explicit Store(std::unique_ptr<Impl> impl);
  Impl& impl() const;  // throws InvalidArgument on a moved-from store
  std::unique_ptr<Impl> impl_;
};

}  // namespace pyk
