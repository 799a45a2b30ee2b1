#include "core/store.h"

#include <ctime>
#include <future>
#include <iostream>

#include "core/error.h"
#include "core/guarded.h"
#include "core/hint_file.h"
#include "core/store_impl.h"

namespace pyk {

// --- Store: the public face -------------------------------------------------

Store Store::open(const std::string& path, Options options) {
  return guarded([&] {
    auto impl = std::make_unique<Impl>(path, std::move(options));
    impl->open();
    return Store(std::move(impl));
  });
}

Store::Store(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Store::Store(Store&&) noexcept = default;
Store& Store::operator=(Store&&) noexcept = default;
Store::~Store() = default;

Store::Impl& Store::impl() const {
  if (!impl_) throw InvalidArgument("store was moved from");
  return *impl_;
}

void Store::put(std::string_view key, std::string_view value) {
  guarded([&] { impl().put(key, value, 0); });
}

void Store::put(std::string_view key, std::string_view value, std::chrono::microseconds ttl) {
  if (ttl.count() <= 0) throw InvalidArgument("ttl must be positive");
  guarded([&] { impl().put(key, value, impl().now_micros() + static_cast<std::uint64_t>(ttl.count())); });
}

std::optional<std::string> Store::get(std::string_view key) const {
  return guarded([&] { return impl().get(key); });
}
bool Store::get_into(std::string_view key, std::string& out) const {
  return guarded([&] { return impl().get_into(key, out); });
}
std::optional<Store::PinnedValue> Store::get_pinned(std::string_view key) const {
  return guarded([&] { return impl().get_pinned(key); });
}
std::vector<std::optional<std::string>> Store::get_many(
    std::span<const std::string_view> keys) const {
  std::vector<std::optional<std::string>> out;
  get_many_into(keys, out);
  return out;
}
void Store::get_many_into(std::span<const std::string_view> keys,
                          std::vector<std::optional<std::string>>& out) const {
  guarded([&] { impl().get_many_into(keys, out); });
}
void Store::write(const WriteBatch& batch) { guarded([&] { impl().write(batch); }); }
bool Store::contains(std::string_view key) const { return impl().contains(key); }
bool Store::erase(std::string_view key) { return guarded([&] { return impl().erase(key); }); }
std::size_t Store::size() const { return impl().size(); }
std::vector<std::string> Store::keys(std::string_view prefix) const {
  return guarded([&] { return impl().keys(prefix); });
}
void Store::visit(const std::function<bool(std::string_view, std::string_view)>& fn) const {
  guarded([&] { impl().for_each(fn); });
}
void Store::sync() { impl().sync(); }
Store::MergeResult Store::merge() { return guarded([&] { return impl().merge(); }); }
void Store::seal_active() { guarded([&] { impl().seal_active(); }); }
void Store::refresh() { guarded([&] { impl().refresh(); }); }
Stats Store::stats() const { return guarded([&] { return impl().stats(); }); }
void Store::close() {
  if (impl_) impl_->close();  // a second close, or one on a moved-from store, does nothing
}

// --- Impl ---------------------------------------------------------------------

Store::Impl::Impl(std::string path, Options options)
    : path_(std::move(path)), options_(std::move(options)) {}

Store::Impl::~Impl() {
  try {
    close();
  } catch (const std::exception& e) {
    log(std::string("error while closing ") + path_ + ": " + e.what());
  }
}

void Store::Impl::close() {
  if (!open_) return;
  commit_.stop_interval();
  merge_limiter_.cancel();  // a throttled merge stops at its next chunk
  maintenance_.stop();
  std::lock_guard maintenance(maintenance_mutex_);  // let a merge on another thread finish
  open_ = false;  // even if sealing fails below, the store is unusable now
  std::lock_guard write_lock(write_mutex_);
  // Released however sealing ends (a full disk cannot take the last bytes):
  // a store that failed to close must not keep its directory locked.
  struct Release {
    Impl& impl;
    ~Release() {
      {
        DroppedSegments segments(impl.gate_);  // a get begun before close may still be reading
        StateWriteLock state_lock(impl);
        if (impl.writer_) impl.writer_->release();
        segments.add(impl.segments_.clear());
      }
      impl.lock_.reset();
    }
  } release{*this};
  // The spares go: unlisted by the manifest written below (or by
  // drop_spares), then removed. Only a store that writes on makes new ones.
  std::vector<std::uint32_t> spares;
  if (writer_) {
    for (const auto& spare : writer_->take_spares()) spares.push_back(spare.first);
    StateWriteLock state_lock(*this);
    spare_ids_.clear();
  }
  bool snapshot_written = false;
  if (writer_ && writer_->active()) {
    const Segment& active = *writer_->active();
    const std::uint32_t id = writer_->active_id();
    // A big active segment is hinted (and so sealed for good), so that the
    // next open reads hints only (or the keydir snapshot). So is an empty
    // one: the next write starts a segment anyway (open starts none after
    // a segment sealed for good), and nothing is left to scan at open.
    // The caller waits for this hint, and the next open loads the snapshot
    // (written meanwhile, on its own thread) rather than replay it: it lists
    // every record (a third of a 1M-key close went to asking the keydir
    // which were superseded).
    const bool seal_for_good =
        active.size() >= seal_at_close_bytes() || active.size() <= format::kFileHeaderSize;
    ClosingSnapshot snapshot = seal_for_good ? start_snapshot(id) : ClosingSnapshot{};
    bool sealed_for_good = false;
    if (!seal_for_good) {
      writer_->active()->seal();
    } else {
      // The datafile syncs on a thread of its own while the hint is built
      // from it (the two were most of a close); the hint takes its name
      // only once the sync is done. A failed sync fails close, as seal()'s.
      writer_->active()->seal_unsynced();
      const std::shared_future<void> synced =
          std::async(std::launch::async, [segment = writer_->active()] { segment->sync(); }).share();
      try {
        write_hint(id, Superseded::listed, [&synced] { synced.get(); });
        sealed_for_good = true;
      } catch (const std::exception& e) {  // only costs the next open a scan
        log("writing hint file of segment " + std::to_string(id) + " failed: " + e.what());
      }
      synced.get();
    }
    // Sealed for good: the manifest lists it with its final length. (One
    // that stays active is not: a torn tail it gets later is cut as usual.)
    if (sealed_for_good) {
      {
        StateWriteLock state_lock(*this);
        segments_.clear_active();
      }
      try {
        write_manifest();
      } catch (const std::exception& e) {  // the old one still holds: it lists the segment active
        log("writing the manifest at close failed: " + std::string(e.what()));
        spares.clear();  // listed there: the next open takes the newest, drops the rest
      }
    }
    snapshot_written = finish_snapshot(snapshot);
  }
  try {
    drop_spares(spares);
  } catch (const std::exception& e) {  // still listed: the next open takes one as its active segment
    log("removing spare segments at close failed: " + std::string(e.what()));
  }
  // Every segment is sealed (synced) now, the active one too.
  if (writer_ && !snapshot_written) write_snapshot();
}

std::uint64_t Store::Impl::now_micros() const {
  const auto now = options_.clock ? options_.clock() : std::chrono::system_clock::now();
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count());
}

std::uint64_t Store::Impl::write_time_micros() const {
#ifdef CLOCK_REALTIME_COARSE
  timespec now;
  if (!options_.clock && ::clock_gettime(CLOCK_REALTIME_COARSE, &now) == 0)
    return static_cast<std::uint64_t>(now.tv_sec) * 1'000'000 + static_cast<std::uint64_t>(now.tv_nsec) / 1000;
#endif
  return now_micros();
}

void Store::Impl::log(std::string_view message) const {
  std::lock_guard log_lock(log_mutex_);
  if (options_.logger) {
    options_.logger(message);
  } else {
    std::cerr << "pyk: " << message << '\n';
  }
}

void Store::Impl::check_open() const {
  if (!open_) throw InvalidArgument("store " + path_ + " is closed");
}

void Store::Impl::check_writable() const {
  check_open();
  if (options_.read_only) throw InvalidArgument("store " + path_ + " is open read-only");
}

void Store::Impl::check_key(std::string_view key) {
  if (key.empty()) throw InvalidArgument("empty key");
}

}  // namespace pyk
