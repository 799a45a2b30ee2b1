#include "tests/fault_injection.h"

#include <algorithm>
#include <cerrno>

#include "core/error.h"
#include "core/segment_wrapper.h"
#include "tests/power_cut.h"

namespace pyk::test {

const char* to_string(FaultOp op) {
  switch (op) {
    case FaultOp::create: return "create";
    case FaultOp::remove: return "remove";
    case FaultOp::rename: return "rename";
    case FaultOp::dir_sync: return "directory sync";
    case FaultOp::append: return "append";
    case FaultOp::sync: return "sync";
    case FaultOp::truncate: return "truncate";
    case FaultOp::seal: return "seal";
    case FaultOp::open: return "open";
    case FaultOp::read: return "read";
  }
  return "?";
}

namespace {

bool is_mutating(FaultOp op) { return op < FaultOp::open; }

[[noreturn]] void throw_injected(FaultOp op, const std::string& path, int error) {
  throw IoError(std::string("injected fault: ") + to_string(op) + " " + path, path, error);
}

}  // namespace

void FaultInjection::fail(FaultOp op, std::uint64_t nth, int error, std::size_t land) {
  std::lock_guard lock(mu_);
  rules_.push_back({op, count_[std::size_t(op)] + nth, false, error, land});
}

void FaultInjection::fail_always(FaultOp op, int error) {
  std::lock_guard lock(mu_);
  rules_.push_back({op, 0, true, error, 0});
}

void FaultInjection::limit_space(std::uint64_t bytes, bool partial) {
  std::lock_guard lock(mu_);
  space_left_ = bytes;
  partial_space_ = partial;
}

void FaultInjection::crash_at(std::uint64_t nth, bool completes, std::size_t land) {
  std::lock_guard lock(mu_);
  crash_at_ = mutating_ + nth;
  crash_completes_ = completes;
  crash_land_ = land;
}

bool FaultInjection::crashed() const {
  std::lock_guard lock(mu_);
  return crashed_;
}

void FaultInjection::heal() {
  std::lock_guard lock(mu_);
  rules_.clear();
  space_left_.reset();
  crash_at_.reset();
  crashed_ = false;
}

std::uint64_t FaultInjection::mutating_ops() const {
  std::lock_guard lock(mu_);
  return mutating_;
}

std::uint64_t FaultInjection::injected() const {
  std::lock_guard lock(mu_);
  return injected_;
}

FaultInjection::Decision FaultInjection::before(FaultOp op, std::size_t bytes) {
  std::lock_guard lock(mu_);
  const std::uint64_t index = count_[std::size_t(op)]++;
  Decision d;
  if (is_mutating(op)) {
    const std::uint64_t global = mutating_++;
    if (crashed_) {
      d.fail = true;
      d.error = EIO;
      return d;  // not counted as injected: the process is already gone
    }
    if (crash_at_ && global >= *crash_at_) {
      crashed_ = true;
      ++injected_;
      d.fail = true;
      d.error = EIO;
      d.complete = crash_completes_;
      d.land = op == FaultOp::append && crash_completes_ ? std::min(crash_land_, bytes) : 0;
      return d;
    }
  }
  for (auto it = rules_.begin(); it != rules_.end(); ++it) {
    if (it->op != op || (!it->always && it->at != index)) continue;
    d.fail = true;
    d.error = it->error;
    d.land = op == FaultOp::append ? std::min(it->land, bytes) : 0;
    if (!it->always) rules_.erase(it);
    ++injected_;
    return d;
  }
  if (space_left_) {
    if (op == FaultOp::create && *space_left_ == 0) {
      ++injected_;
      d.fail = true;
      d.error = ENOSPC;
    } else if (op == FaultOp::append) {
      if (bytes > *space_left_) {
        ++injected_;
        d.fail = true;
        d.error = ENOSPC;
        d.land = partial_space_ ? static_cast<std::size_t>(*space_left_) : 0;
        *space_left_ -= d.land;
      } else {
        *space_left_ -= bytes;
      }
    }
  }
  return d;
}

// --- the wrappers -------------------------------------------------------------

namespace {

class FaultInjectionSegment final : public SegmentWrapper {
 public:
  FaultInjectionSegment(std::unique_ptr<Segment> base, std::shared_ptr<FaultInjection> faults,
                        std::shared_ptr<FaultInjectionDirectory::FileState> state)
      : SegmentWrapper(std::move(base)), faults_(std::move(faults)), state_(std::move(state)) {}

  std::uint64_t append(std::span<const std::byte> data) override {
    const auto d = faults_->before(FaultOp::append, data.size());
    if (d.fail) {
      if (d.land > 0) target().append(data.first(d.land));
      throw_injected(FaultOp::append, describe(), d.error);
    }
    return target().append(data);
  }
  std::span<const std::byte> read(std::uint64_t offset, std::size_t n,
                                  std::span<std::byte> scratch) const override {
    check(FaultOp::read);
    return target().read(offset, n, scratch);
  }
  PinnedBytes pin(std::uint64_t offset, std::size_t n) const override {
    check(FaultOp::read);
    return target().pin(offset, n);
  }
  void sync() override { mutate(FaultOp::sync, [&] { synced([&] { target().sync(); }); }); }
  void truncate(std::uint64_t new_size) override {
    mutate(FaultOp::truncate, [&] {
      target().truncate(new_size);
      std::uint64_t synced = state_->synced.load();
      while (synced > new_size && !state_->synced.compare_exchange_weak(synced, new_size)) {
      }
    });
  }
  void seal() override {
    if (sealed()) return;  // sealing twice is a no-op, and no I/O
    mutate(FaultOp::seal, [&] { synced([&] { target().seal(); }); });
  }
  // Nothing becomes durable: a power cut keeps what the last sync covered.
  void seal_unsynced() override {
    if (sealed()) return;
    mutate(FaultOp::seal, [&] { target().seal_unsynced(); });
  }

 private:
  void check(FaultOp op) const {
    const auto d = faults_->before(op);
    if (d.fail) throw_injected(op, describe(), d.error);
  }
  template <class Fn>
  void mutate(FaultOp op, Fn&& fn) {
    const auto d = faults_->before(op);
    if (!d.fail) return fn();
    if (d.complete) fn();
    throw_injected(op, describe(), d.error);
  }

  // Runs a sync (or seal): every byte appended before it is durable once it returns.
  template <class Fn>
  void synced(Fn&& sync) {
    const std::uint64_t size = target().size();
    sync();
    std::uint64_t synced = state_->synced.load();
    while (synced < size && !state_->synced.compare_exchange_weak(synced, size)) {
    }
  }

  const std::shared_ptr<FaultInjection> faults_;
  const std::shared_ptr<FaultInjectionDirectory::FileState> state_;
};

}  // namespace

FaultInjectionDirectory::FaultInjectionDirectory(std::shared_ptr<Directory> base,
                                                 std::shared_ptr<FaultInjection> faults)
    : DirectoryWrapper(std::move(base)),
      faults_(std::move(faults)),
      durability_(std::make_shared<Durability>()) {}

std::unique_ptr<Segment> FaultInjectionDirectory::create(const std::string& name,
                                                         std::uint64_t size_hint) {
  const auto d = faults_->before(FaultOp::create);
  if (d.fail) {
    if (d.complete) {  // created, but the caller never learns
      target()->create(name, size_hint);
      durability_->created(name);
    }
    throw_injected(FaultOp::create, describe() + "/" + name, d.error);
  }
  auto segment = target()->create(name, size_hint);
  return std::make_unique<FaultInjectionSegment>(std::move(segment), faults_,
                                                 durability_->created(name));
}

std::unique_ptr<Segment> FaultInjectionDirectory::open(const std::string& name, OpenMode mode) {
  const auto d = faults_->before(FaultOp::open);
  if (d.fail) throw_injected(FaultOp::open, describe() + "/" + name, d.error);
  auto segment = target()->open(name, mode);
  auto state = durability_->opened(name, segment->size());
  return std::make_unique<FaultInjectionSegment>(std::move(segment), faults_, std::move(state));
}

bool FaultInjectionDirectory::remove(const std::string& name) {
  const auto d = faults_->before(FaultOp::remove);
  if (d.fail) {
    if (d.complete) durability_->remove(*target(), name);
    throw_injected(FaultOp::remove, describe() + "/" + name, d.error);
  }
  return durability_->remove(*target(), name);
}

void FaultInjectionDirectory::rename(const std::string& from, const std::string& to) {
  const auto d = faults_->before(FaultOp::rename);
  if (d.fail) {
    if (d.complete) durability_->rename(*target(), from, to);
    throw_injected(FaultOp::rename, describe() + "/" + from, d.error);
  }
  durability_->rename(*target(), from, to);
}

void FaultInjectionDirectory::sync() {
  const auto d = faults_->before(FaultOp::dir_sync);
  if (d.fail) {
    if (d.complete) {
      target()->sync();
      durability_->synced_directory();
    }
    throw_injected(FaultOp::dir_sync, describe(), d.error);
  }
  target()->sync();
  durability_->synced_directory();
}

}  // namespace pyk::test
