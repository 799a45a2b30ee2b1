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
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "options.h"
#include "segment.h"
#include "write_batch.h"

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
  // Point-in-time recovery at open (RecoveryMode): byte ranges after damage
  // in the newest segment moved to the quarantine, and their bytes.
  std::uint64_t ranges_set_aside = 0;
  std::uint64_t bytes_set_aside = 0;
  std::uint64_t segments_from_hints = 0; // sealed segments loaded from hint files at open
  std::uint64_t keys_from_snapshot = 0;  // keys loaded from the keydir snapshot (KEYDIR) at open
  std::uint64_t merges = 0;             // merges completed since open
  // Spares ready: empty segments (a datafile holding only its header) made
  // ahead for the next rotations to take. Not in `segments` or `disk_bytes`.
  std::uint64_t spare_segments = 0;
  std::vector<SegmentStats> segments;   // oldest first (replay order)
};

// What Store::ttl found for a key.
struct KeyTtl {
  enum class State { missing, persistent, expiring };  // persistent: no expiry
  State state = State::missing;
  std::chrono::microseconds remaining{0};  // > 0 when expiring
};

// The key as Store::update's function sees it. Views valid only during the call.
struct KeyState {
  std::optional<std::string_view> value;         // nullopt: absent (or expired)
  std::optional<std::chrono::microseconds> ttl;  // time left; nullopt: absent or no expiry
};

// What Store::update's function decides. Built only through the named
// constructors, so each says what happens to the key's expiry.
class Change {
 public:
  enum class Action { keep, put, erase };
  enum class Expiry { keep, none, after };  // of a put: unchanged, never, ttl() from now

  static Change unchanged() { return Change(Action::keep, {}, Expiry::keep, {}); }
  static Change erase() { return Change(Action::erase, {}, Expiry::keep, {}); }
  // A put like Store::put: any expiry the key had is gone.
  static Change put(std::string value) {
    return Change(Action::put, std::move(value), Expiry::none, {});
  }
  // Expiring `ttl` from now (ttl > 0; throws InvalidArgument otherwise).
  static Change put(std::string value, std::chrono::microseconds ttl);
  // The key keeps the expiry it has (if any), as Redis's INCR does.
  static Change put_keeping_expiry(std::string value) {
    return Change(Action::put, std::move(value), Expiry::keep, {});
  }

  Action action() const { return action_; }
  const std::string& value() const { return value_; }
  Expiry expiry() const { return expiry_; }
  std::chrono::microseconds ttl() const { return ttl_; }

 private:
  Change(Action a, std::string v, Expiry e, std::chrono::microseconds t)
      : action_(a), value_(std::move(v)), expiry_(e), ttl_(t) {}
  Action action_;
  std::string value_;
  Expiry expiry_;
  std::chrono::microseconds ttl_;
};

// One page of Store::scan.
struct ScanPage {
  std::vector<std::string> keys;
  std::uint64_t next_cursor = 0;  // pass to the next scan; 0: the scan is complete
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
  // The values of a batch of keys, in order: result[i] is get(keys[i])
  // (nullopt: absent or expired); keys may repeat, an empty batch gives an
  // empty result. Faster than a get per key: the keydir lookups of the batch
  // run back to back and its records are prefetched (mmap) or read with
  // one io_uring submission per segment (file) before any is checked.
  // Batches of 8 to 64 keys suit it best. Each value is read as by get,
  // concurrently with writes, so one batch may see a write for one key and
  // not for another. Throws as get does (nothing returned).
  std::vector<std::optional<std::string>> get_many(std::span<const std::string_view> keys) const;
  // The same into `out` (resized to keys.size()), reusing the capacity of the
  // strings it holds, as get_into does for get: no allocation per value
  // once the buffers are big enough.
  void get_many_into(std::span<const std::string_view> keys,
                     std::vector<std::optional<std::string>>& out) const;
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

  // --- Expiry, conditional writes, read-modify-write, cursor scan ---------
  // (core/store_api.cpp). Writes here follow the store's SyncPolicy like put.

  // Whether `key` exists, and whether and when it expires.
  KeyTtl ttl(std::string_view key) const;
  // Sets the expiry of an existing key to `ttl` from now (ttl > 0, else
  // InvalidArgument); false if the key is absent. A Bitcask keeps the expiry
  // in the record, so this rewrites the record: it costs reading and
  // appending the whole value.
  bool expire(std::string_view key, std::chrono::microseconds ttl);
  // Removes the expiry of `key`, rewriting its record (see expire); false if
  // the key is absent or had none.
  bool persist(std::string_view key);

  // Writes only if `key` is absent (or expired) / only if it is present;
  // true if it wrote. Atomic against every other write. A value written
  // without a ttl never expires, as with put.
  bool put_if_absent(std::string_view key, std::string_view value);
  bool put_if_absent(std::string_view key, std::string_view value, std::chrono::microseconds ttl);
  bool put_if_present(std::string_view key, std::string_view value);
  bool put_if_present(std::string_view key, std::string_view value, std::chrono::microseconds ttl);

  // Atomic read-modify-write of one key: calls fn with the key's current
  // state and applies the Change it returns, with no other write to the
  // store in between (so concurrent increments never lose one). Returns true
  // if it wrote a value or erased a present key. If fn throws, or the new
  // value is invalid (InvalidArgument), nothing is written.
  // REQUIRES: fn does not write to this store (it runs under the write lock)
  // and is quick: every writer waits for it.
  bool update(std::string_view key, const std::function<Change(const KeyState&)>& fn);

  // A cursor scan: start with cursor 0, pass each page's next_cursor to the
  // next call, stop when it is 0. Returns live keys starting with `prefix`,
  // in no particular order, examining about `count` keys per call (count > 0;
  // a page may hold fewer keys, even none, before the scan is complete).
  // Guarantee, as Redis's SCAN: every key present for the whole scan is
  // returned at least once, whatever writes and merges run meanwhile; a key
  // added or removed during the scan may or may not be; a key may come
  // twice. The cursor is a position in the keydir's arena (see
  // KeyDir::walk): resuming costs nothing, nothing is materialised, and a
  // call holds the keydir's shared lock only for `count` keys. When the
  // keydir compacts its arena (after many erases) the scan starts over.
  // Any cursor value is safe; a forged one returns an arbitrary subset.
  ScanPage scan(std::uint64_t cursor, std::string_view prefix = {},
                std::size_t count = 100) const;

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
