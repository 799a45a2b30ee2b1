// Fault injection for crash and bad-condition tests (cf. leveldb's ErrorEnv,
// SpecialEnv and fault_injection_test).
//
// FaultInjectionDirectory wraps any Directory (normally a MemoryDirectory,
// handed to the store through Options::directory) and every Segment it hands
// out; reads go through Segment::read()/pin() as in production. A shared FaultInjection decides, operation by operation, whether to
// pass the call through, fail it with IoError (ENOSPC, EIO, ...), or carry it
// out in part: an append that lands its first N bytes and then fails.
//
// Crashes: crash_at(n) makes the n-th mutating operation from now the last one
// the "process" performs (optionally carried out, an append in part); every
// mutating operation after it fails with EIO, so nothing the engine does while
// unwinding or closing reaches storage. The test then destroys the store and
// calls FaultInjectionDirectory::power_cut() to lose what was not synced.
//
// Power cuts (cf. leveldb's FaultInjectionTestEnv), on any backend, real
// files included: the wrapper tracks each file's synced length and the name
// changes since the last Directory::sync(), and power_cut() rewrites the
// wrapped directory (through its Directory interface) as a power loss could
// leave it:
//   - unsynced appended bytes are lost, or kept in part (a torn write), or the
//     last kept bytes hold garbage (a half-written sector), or — what ext4
//     does when dirty pages reach the disk out of order — a range of them is
//     zeroed or garbled while bytes written after it survive;
//   - creations, removals and renames since the last Directory::sync() are
//     undone, or a prefix of them survives (journals commit in order); a
//     removed or replaced file comes back with the bytes it had synced;
//   - a sync that failed made nothing durable, and a later successful sync
//     makes everything durable (optimistic: Linux may drop the dirty pages of a
//     failed fsync; see the report in tests/crash_test.cpp).
// Not modelled: lost truncations, reads that fail, and files the wrapper never
// saw (they are left as they are).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/directory.h"
#include "core/directory_wrapper.h"

namespace pyk::test {

enum class FaultOp : std::uint8_t {
  // Mutating operations: counted for crash_at().
  create, remove, rename, dir_sync, append, sync, truncate, seal,
  // Not mutating: can be failed, never crash.
  open, read,
};
const char* to_string(FaultOp op);

// Thread-safe.
class FaultInjection {
 public:
  // Fails the nth next operation of kind `op` (0 = the next one) with `error`.
  // For an append, `land` of its bytes reach the segment first (a short write).
  void fail(FaultOp op, std::uint64_t nth = 0, int error = EIO, std::size_t land = 0);
  // Fails every operation of kind `op` until heal().
  void fail_always(FaultOp op, int error = EIO);
  // Disk full after `bytes` more appended bytes: an append that does not fit
  // fails with ENOSPC, after landing what fits if `partial`; creations fail
  // with ENOSPC once the space is used up.
  void limit_space(std::uint64_t bytes, bool partial = false);
  // The process dies at the nth next mutating operation (0 = the next). If
  // `completes`, that operation is carried out first (an append: its first
  // `land` bytes only) before it fails; every later mutating operation fails.
  void crash_at(std::uint64_t nth, bool completes = false, std::size_t land = 0);
  bool crashed() const;
  // Removes every fault and revives a crashed process.
  void heal();

  // Mutating operations performed or attempted so far (to pick crash points).
  std::uint64_t mutating_ops() const;
  // Faults injected so far.
  std::uint64_t injected() const;

  // What a wrapper must do with an operation: pass it through (fail == false),
  // or land `land` bytes (append) / carry it out (`complete`), then throw.
  struct Decision {
    bool fail = false;
    int error = 0;
    std::size_t land = 0;
    bool complete = false;
  };
  // Called by the wrappers before each operation; `bytes` is an append's size.
  Decision before(FaultOp op, std::size_t bytes = 0);

 private:
  struct Rule {
    FaultOp op;
    std::uint64_t at;  // value of count_[op] that triggers; ignored if always
    bool always;
    int error;
    std::size_t land;
  };
  static constexpr std::size_t kOps = 10;

  mutable std::mutex mu_;
  std::vector<Rule> rules_;                   // GUARDED_BY(mu_)
  std::uint64_t count_[kOps] = {};            // GUARDED_BY(mu_)
  std::uint64_t mutating_ = 0;                // GUARDED_BY(mu_)
  std::uint64_t injected_ = 0;                // GUARDED_BY(mu_)
  std::optional<std::uint64_t> space_left_;   // GUARDED_BY(mu_)
  bool partial_space_ = false;                // GUARDED_BY(mu_)
  std::optional<std::uint64_t> crash_at_;     // GUARDED_BY(mu_): a value of mutating_
  bool crash_completes_ = false;              // GUARDED_BY(mu_)
  std::size_t crash_land_ = 0;                // GUARDED_BY(mu_)
  bool crashed_ = false;                      // GUARDED_BY(mu_)
};

// Forwards everything it does not fault to the wrapped directory
// (DirectoryWrapper), and wraps every segment it hands out.
class FaultInjectionDirectory final : public DirectoryWrapper {
 public:
  explicit FaultInjectionDirectory(std::shared_ptr<Directory> base,
                                   std::shared_ptr<FaultInjection> faults =
                                       std::make_shared<FaultInjection>());

  FaultInjection& faults() const { return *faults_; }

  std::unique_ptr<Segment> create(const std::string& name, std::uint64_t size_hint) override;
  std::unique_ptr<Segment> open(const std::string& name, OpenMode mode) override;
  bool remove(const std::string& name) override;
  void rename(const std::string& from, const std::string& to) override;
  void sync() override;
  std::string describe() const override { return "faulty " + target()->describe(); }

  struct PowerCut {
    // Creations, removals and renames since the last sync() that survive:
    // the first keep_name_ops of them, in order. 0 = the namespace of the
    // last sync(); SIZE_MAX = all.
    std::size_t keep_name_ops = SIZE_MAX;
    // Bytes kept of each file, clamped to [synced size, size]: a torn write
    // that reached the disk in part. Null: keep only synced bytes.
    std::function<std::uint64_t(std::uint64_t synced, std::uint64_t size)> keep_bytes;
    // The last `scramble` kept unsynced bytes of a file are overwritten with
    // bytes derived from `seed` (a sector that was being written).
    std::size_t scramble = 0;
    // Out-of-order writeback: a range inside the kept unsynced bytes is
    // zeroed (or garbled, if hole_garbage) while the bytes after it survive.
    bool hole = false;
    bool hole_garbage = false;
    std::uint64_t seed = 0;
  };
  // Afterwards every surviving byte and name counts as synced. Segments still
  // open keep writing to what the cut replaced, which no longer counts: call
  // FaultInjection::crash_at(0) first if the store is still open.
  void power_cut(const PowerCut& cut);
  // Creations, removals and renames not yet made durable by sync().
  std::size_t unsynced_name_ops() const;
  // Synced length of `name` as tracked (its size if the wrapper never wrote it).
  std::uint64_t synced_size(const std::string& name) const;

  // What the wrappers track for power_cut(); power_cut.cpp.
  struct FileState {
    std::atomic<std::uint64_t> synced{0};
  };
  class Durability;

 private:
  const std::shared_ptr<FaultInjection> faults_;
  const std::shared_ptr<Durability> durability_;
};

}  // namespace pyk::test
