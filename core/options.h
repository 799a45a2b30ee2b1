// Options for pyk::Store::open.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace pyk {

class Directory;

enum class SyncPolicy {
  none,      // leave flushing to the OS; a crash can lose recent writes
  always,    // every put/erase is durable before it returns (group commit)
  interval,  // a background thread syncs every sync_interval
};

// What open does with damage in the newest segment, the one a crash or a
// power cut interrupts (cf. RocksDB's WALRecoveryMode). Damage in any other
// segment is always a CorruptionError. README "Crash safety" weighs them.
enum class RecoveryMode {
  // A torn tail (nothing valid after the damage) is cut off; damage followed
  // by valid records is a CorruptionError. Risk: a store that lost power
  // with unsynced writes reaching the disk out of order does not open.
  torn_tail,
  // Stops at the first damage: the store is the log up to it, and every byte
  // from there on is moved to <store>/quarantine/ (never deleted), counted in
  // Stats::bytes_set_aside and logged. After a power cut only unsynced writes
  // lie past the damage. Risk: valid records after real damage (a bad
  // sector in synced data) are set aside too, until someone restores them.
  point_in_time,
  // Any damage, a torn tail included, is a CorruptionError. Risk: a crash
  // mid-write stops the store from opening until pyk-fsck --repair.
  absolute_consistency,
};

struct Options {
  // Storage backend by name: "file" (buffered files), "mmap" (memory-mapped
  // files) or "memory" (RAM; the same path names the same in-memory store
  // for the life of the process). Ignored when `directory` is set.
  std::string backend = "file";
  // A directory object of your own (a custom backend, or a MemoryDirectory
  // shared between tests); `path` is then only used in messages.
  std::shared_ptr<Directory> directory;

  // A segment that would grow past this size is sealed and a new one started.
  std::uint64_t max_segment_size = 256ull << 20;
  // Empty segments the maintenance thread keeps made ahead (created, synced,
  // listed in the manifest) once the active one is half full, so that a
  // rotation switches to one without any disk flush on the writer's thread
  // (README, "Crash safety"). Two cover a second rotation while the first
  // one's background sync still runs. 0: each rotation makes its segment
  // itself, as before (behind a big background sync, hundreds of ms). At most 16.
  std::uint32_t spare_segments = 2;

  SyncPolicy sync = SyncPolicy::none;
  std::chrono::milliseconds sync_interval{1000};

  // Read-only: no lock is taken, nothing is written, torn tails are skipped
  // instead of cut. Several read-only stores may share a directory with one writer.
  bool read_only = false;
  bool create_if_missing = true;

  // See RecoveryMode. A read-only store never writes: it stops at the damage
  // as the mode says, sets nothing aside, and takes a torn tail as the
  // writer's append in progress whatever the mode.
  RecoveryMode recovery = RecoveryMode::point_in_time;
  // Where point_in_time moves damaged bytes: by default the directory
  // "quarantine" inside the store, on the same backend. Set it when
  // `directory` is a backend open_directory() does not know.
  std::shared_ptr<Directory> quarantine;

  // Keys the store is expected to hold (like Kyoto's bucket count): the
  // keydir's table is sized for max(this, the keys in hint files) at open,
  // so filling it never rehashes (a rehash touches every key). It costs
  // about 6 bytes per expected key up front. 0 = grow as needed.
  std::uint64_t expected_keys = 0;

  // close saves the keydir to the file KEYDIR (about the keydir's size), and
  // the next open loads it at memory speed instead of replaying every hint
  // file, when the store is exactly as that close left it (else the hints
  // are replayed as before). See core/keydir_snapshot.h.
  bool keydir_snapshot = true;

  // Limits, checked on every put. Cannot exceed the format's hard limits
  // (format::kMaxKeySize, format::kMaxValueSize).
  std::uint32_t max_key_size = 64 * 1024;
  std::uint32_t max_value_size = 64u << 20;

  // Automatic merge (Bitcask's frag_merge_trigger / dead_bytes_merge_trigger,
  // with Bitcask's defaults), off when both are 0. After each rotation a
  // background thread merges the sealed segments whose dead fraction (dead
  // bytes / record bytes) reaches merge_dead_fraction (0 < f <= 1), or whose
  // dead bytes reach merge_dead_bytes.
  double merge_dead_fraction = 0.6;
  std::uint64_t merge_dead_bytes = 512ull << 20;
  // The triggers are also checked this often (Bitcask's merge_check_interval,
  // 3 minutes by default), so that a store whose writes stop sealing
  // segments, or whose keys expire, is merged as well. 0 = only after each
  // rotation.
  std::chrono::milliseconds merge_check_interval{std::chrono::minutes(3)};
  // An automatic merge writes at most this many bytes per second (a token
  // bucket, cf. RocksDB's rate limiter), so that it leaves the disk and the
  // CPU to the writers; close stops one in progress (its inputs stay). 0 =
  // unthrottled. Store::merge() is never throttled.
  std::uint64_t merge_rate_bytes_per_second = 64ull << 20;
  // Which sealed segments a merge rewrites (Bitcask's frag_threshold /
  // dead_bytes_threshold): those whose own dead fraction reaches
  // merge_input_dead_fraction, or whose dead bytes reach merge_input_dead_bytes
  // (keys expired by then count as dead). Both 0: every sealed segment.
  double merge_input_dead_fraction = 0.4;
  std::uint64_t merge_input_dead_bytes = 128ull << 20;

  // Time source for timestamps and TTL expiry; tests pass a fake clock.
  std::function<std::chrono::system_clock::time_point()> clock;
  // Receives notable events (a torn tail cut off at open, ...). Called from
  // the calling thread or the store's background threads, one call at a
  // time; it must not call back into the store. Default: stderr.
  std::function<void(std::string_view)> logger;
};

}  // namespace pyk
