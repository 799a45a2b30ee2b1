#include "core/store.h"

#include <algorithm>
#include <iostream>

#include "core/error.h"
#include "core/hint_file.h"
#include "core/store_impl.h"

namespace pyk {

// --- Store: the public face -------------------------------------------------

Store Store::open(const std::string& path, Options options) {
  auto impl = std::make_unique<Impl>(path, std::move(options));
  impl->open();
  return Store(std::move(impl));
}

Store::Store(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Store::Store(Store&&) noexcept = default;
Store& Store::operator=(Store&&) noexcept = default;
Store::~Store() = default;

void Store::put(std::string_view key, std::string_view value) { impl_->put(key, value, 0); }

void Store::put(std::string_view key, std::string_view value, std::chrono::microseconds ttl) {
  if (ttl.count() <= 0) throw InvalidArgument("ttl must be positive");
  impl_->put(key, value, impl_->now_micros() + static_cast<std::uint64_t>(ttl.count()));
}

std::optional<std::string> Store::get(std::string_view key) const { return impl_->get(key); }
bool Store::get_into(std::string_view key, std::string& out) const {
  return impl_->get_into(key, out);
}
std::optional<Store::PinnedValue> Store::get_pinned(std::string_view key) const {
  return impl_->get_pinned(key);
}
void Store::write(const WriteBatch& batch) { impl_->write(batch); }
bool Store::contains(std::string_view key) const { return impl_->contains(key); }
bool Store::erase(std::string_view key) { return impl_->erase(key); }
std::size_t Store::size() const { return impl_->size(); }
std::vector<std::string> Store::keys(std::string_view prefix) const { return impl_->keys(prefix); }
void Store::for_each(
    const std::function<void(std::string_view, std::string_view)>& fn) const {
  impl_->for_each(fn);
}
void Store::sync() { impl_->sync(); }
void Store::merge() { impl_->merge(); }
Stats Store::stats() const { return impl_->stats(); }
void Store::close() { impl_->close(); }

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
  if (sync_thread_.joinable()) {
    sync_thread_.request_stop();
    sync_loop_wake_.notify_all();
    sync_thread_.join();
  }
  stop_worker();
  std::lock_guard maintenance(maintenance_mutex_);  // let a merge on another thread finish
  open_ = false;  // even if sealing fails below, the store is unusable now
  std::lock_guard write_lock(write_mutex_);
  if (active_) {
    active_->seal();
    // A big active segment is hinted (and so sealed for good), so that the
    // next open reads hints only.
    if (!options_.read_only && active_->size() >= seal_at_close_bytes()) {
      try {
        hint::write(*directory_, active_id_, *active_);
      } catch (const std::exception& e) {  // only costs the next open a scan
        log("writing hint file of segment " + std::to_string(active_id_) + " failed: " + e.what());
      }
    }
  }
  std::unique_lock state_lock(state_mutex_);
  active_.reset();
  active_state_ = nullptr;
  segments_.clear();
  lock_.reset();
}

std::uint64_t Store::Impl::now_micros() const {
  const auto now = options_.clock ? options_.clock() : std::chrono::system_clock::now();
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count());
}

void Store::Impl::log(std::string_view message) const {
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

void Store::Impl::validate(std::string_view key, std::string_view value) const {
  if (key.empty()) throw InvalidArgument("empty key");
  if (key.size() > options_.max_key_size)
    throw InvalidArgument("key of " + std::to_string(key.size()) + " bytes exceeds max_key_size " +
                          std::to_string(options_.max_key_size));
  if (value.size() > options_.max_value_size)
    throw InvalidArgument("value of " + std::to_string(value.size()) +
                          " bytes exceeds max_value_size " +
                          std::to_string(options_.max_value_size));
}

Location Store::Impl::append_locked(std::string_view encoded) {
  if (torn_end_) {  // bytes of an earlier failed append that could not be cut yet
    active_->truncate(*torn_end_);
    torn_end_.reset();
  }
  const std::uint64_t start = active_->size();
  // A sealed active segment: the rotation that sealed it failed to start a new one.
  if (active_->sealed() ||
      (start > format::kFileHeaderSize && start + encoded.size() > options_.max_segment_size)) {
    rotate_locked();
  }
  const std::uint64_t before = active_->size();
  std::uint64_t offset;
  try {
    offset = active_->append(format::as_bytes(encoded));
  } catch (...) {
    // A backend may land part of a failed append (a short write). Cut it off,
    // or the next record would follow bytes that recovery rejects as damage
    // in the middle of the segment. If that fails too, the next append
    // retries before writing anything.
    if (active_->size() != before) {
      try {
        active_->truncate(before);
      } catch (...) {
        torn_end_ = before;
      }
    }
    throw;
  }
  appended_sequence_.store(appended_sequence_.load(std::memory_order_relaxed) + 1,
                           std::memory_order_relaxed);
  return Location{active_id_, static_cast<std::uint32_t>(offset),
                  static_cast<std::uint32_t>(encoded.size()), 0};
}

void Store::Impl::rotate_locked() {
  // Already sealed: an earlier rotation failed to start the new segment and
  // did this part; since then a merge may even have taken the segment away,
  // so it must not be touched again (segments_[id] would make an empty entry).
  if (!active_->sealed()) {
    active_->seal();
    {
      std::unique_lock state_lock(state_mutex_);
      segments_[active_id_].stats.active = false;
      active_state_ = nullptr;
    }
    enqueue({Job::Kind::hint, active_id_});
    if (options_.merge_dead_fraction > 0 || options_.merge_dead_bytes > 0) {
      enqueue({Job::Kind::merge_check, 0});
    }
  }
  start_new_segment();
}

void Store::Impl::account(const std::optional<Location>& replaced, const Location* added,
                          SegmentStats& home, std::uint32_t record_size) {
  if (added != nullptr) {
    home.live_keys += 1;
    home.live_bytes += record_size;
    if (added->expiry != 0) ++expiring_keys_;
  } else {
    home.dead_bytes += record_size;  // a tombstone is dead weight from the start
  }
  if (replaced) {
    // Often the same segment (an overwrite within the active one).
    auto& old = replaced->segment == home.id ? home : segments_[replaced->segment].stats;
    old.live_keys -= 1;
    old.live_bytes -= replaced->size;
    old.dead_bytes += replaced->size;
    if (replaced->expiry != 0) --expiring_keys_;
  }
}

template <class Apply>
std::uint64_t Store::Impl::append_and_apply(std::string_view encoded, Apply&& apply) {
  std::lock_guard write_lock(write_mutex_);
  check_open();
  const Location at = append_locked(encoded);
  std::unique_lock state_lock(state_mutex_);
  SegmentStats& home = active_stats();
  apply(at, home);
  home.bytes = active_->size();
  return appended_sequence_;
}

void Store::Impl::put(std::string_view key, std::string_view value, std::uint64_t expiry) {
  check_writable();
  validate(key, value);
  thread_local std::string encoded;
  encoded.clear();
  format::encode_record(encoded, format::RecordType::value, key, value, now_micros(), expiry);
  const std::uint64_t sequence = append_and_apply(encoded, [&](Location at, SegmentStats& home) {
    at.expiry = expiry;
    account(keydir_.put(key, at), &at, home, at.size);
  });
  if (options_.sync == SyncPolicy::always) sync_to(sequence);
}

bool Store::Impl::erase(std::string_view key) {
  check_writable();
  if (key.empty()) throw InvalidArgument("empty key");
  thread_local std::string encoded;
  encoded.clear();
  const std::uint64_t now = now_micros();
  format::encode_record(encoded, format::RecordType::tombstone, key, {}, now, 0);
  std::uint64_t sequence;
  {
    std::lock_guard write_lock(write_mutex_);  // no other writer between check and append
    check_open();
    {
      std::shared_lock state_lock(state_mutex_);
      const auto found = keydir_.find(key);
      if (!found || expired(*found, now)) return false;
    }
    const Location at = append_locked(encoded);
    std::unique_lock state_lock(state_mutex_);
    SegmentStats& home = active_stats();
    account(keydir_.erase(key), nullptr, home, at.size);
    home.bytes = active_->size();
    sequence = appended_sequence_;
  }
  if (options_.sync == SyncPolicy::always) sync_to(sequence);
  return true;
}

void Store::Impl::write(const WriteBatch& batch) {
  check_writable();
  if (batch.empty()) return;
  const std::uint64_t now = now_micros();
  for (const auto& op : batch.ops()) validate(op.key, op.value);  // WriteBatch checked the TTLs
  // Encode: batch header, then the records; the header's value says how many
  // records and bytes follow so recovery can tell a complete batch.
  std::string records;
  std::vector<std::uint64_t> expiries;
  for (const auto& op : batch.ops()) {
    const std::uint64_t expiry = op.ttl.count() > 0 ? now + std::uint64_t(op.ttl.count()) : 0;
    expiries.push_back(expiry);
    format::encode_record(records,
                          op.erase ? format::RecordType::tombstone : format::RecordType::value,
                          op.key, op.erase ? std::string_view{} : std::string_view(op.value), now,
                          expiry);
  }
  std::array<std::byte, 16> counts{};
  format::store_le<std::uint32_t>(counts.data(), static_cast<std::uint32_t>(batch.size()));
  format::store_le<std::uint64_t>(counts.data() + 8, records.size());
  std::string encoded;
  format::encode_record(encoded, format::RecordType::batch, {},
                        std::string_view(reinterpret_cast<const char*>(counts.data()), 16), now, 0);
  const std::uint32_t header_size = static_cast<std::uint32_t>(encoded.size());
  encoded += records;
  if (encoded.size() > format::kMaxValueSize)
    throw InvalidArgument("batch of " + std::to_string(encoded.size()) + " bytes is too large");
  const std::uint64_t sequence = append_and_apply(encoded, [&](Location at, SegmentStats& home) {
    home.dead_bytes += header_size;
    std::uint32_t offset = at.offset + header_size;
    for (std::size_t i = 0; i < batch.ops().size(); ++i) {
      const auto& op = batch.ops()[i];
      const auto size = static_cast<std::uint32_t>(format::kRecordHeaderSize + op.key.size() +
                                                   (op.erase ? 0 : op.value.size()));
      const Location location{at.segment, offset, size, expiries[i]};
      if (op.erase) {
        account(keydir_.erase(op.key), nullptr, home, size);
      } else {
        account(keydir_.put(op.key, location), &location, home, size);
      }
      offset += size;
    }
  });
  if (options_.sync == SyncPolicy::always) sync_to(sequence);
}

Store::Impl::CheckedRecord Store::Impl::read_record(const std::shared_ptr<Segment>& segment,
                                                    const Location& location,
                                                    std::string& buffer, bool pin) const {
  CheckedRecord out;
  // Without `pin`, a view (where the backend has one) costs no lock and no
  // reference count.
  std::span<const std::byte> record;
  if (pin) {
    out.pinned = segment->pin(location.offset, location.size);
    record = out.pinned.bytes;
  } else {
    buffer.resize(location.size);
    record = segment->read(location.offset, location.size, std::as_writable_bytes(std::span(buffer)));
  }
  check_record(*segment, location.offset, record, out);
  return out;
}

void Store::Impl::check_record(const Segment& segment, std::uint64_t offset,
                               std::span<const std::byte> record, CheckedRecord& out) {
  const auto header = format::decode_record_header(record.data());
  if (header.record_size() != record.size() || format::record_crc(record) != header.crc) {
    throw CorruptionError("record checksum mismatch on read", segment.describe(), offset);
  }
  const auto* body = reinterpret_cast<const char*>(record.data()) + format::kRecordHeaderSize;
  out.key = std::string_view(body, header.key_size);
  out.value = std::string_view(body + header.key_size, header.value_size);
}

template <class Fn>
bool Store::Impl::with_record(std::string_view key, std::string& buffer, bool pin, Fn&& fn) const {
  check_open();
  std::shared_ptr<Segment> segment;
  Location location;
  {
    std::shared_lock state_lock(state_mutex_);
    const auto found = keydir_.find(key);
    if (!found) return false;
    location = *found;
    segment = segments_.at(location.segment).segment;
  }
  // The clock is read only for keys that can expire.
  if (location.expiry != 0 && expired(location, now_micros())) return false;
  // No lock held: the record is immutable and `segment` keeps its file alive.
  fn(read_record(segment, location, buffer, pin));
  return true;
}

std::optional<std::string> Store::Impl::get(std::string_view key) const {
  thread_local std::string buffer;
  std::optional<std::string> out;
  with_record(key, buffer, false, [&](const CheckedRecord& r) { out.emplace(r.value); });
  return out;
}

bool Store::Impl::get_into(std::string_view key, std::string& out) const {
  thread_local std::string buffer;
  return with_record(key, buffer, false, [&](const CheckedRecord& r) { out.assign(r.value); });
}

std::optional<Store::PinnedValue> Store::Impl::get_pinned(std::string_view key) const {
  std::string buffer;
  std::optional<Store::PinnedValue> out;
  with_record(key, buffer, true, [&](const CheckedRecord& r) {
    out = Store::PinnedValue{r.value, r.pinned.keep_alive};
  });
  return out;
}

bool Store::Impl::contains(std::string_view key) const {
  check_open();
  const std::uint64_t now = now_micros();
  std::shared_lock state_lock(state_mutex_);
  const auto found = keydir_.find(key);
  return found && !expired(*found, now);
}

std::size_t Store::Impl::size() const {
  check_open();
  const std::uint64_t now = now_micros();
  std::shared_lock state_lock(state_mutex_);
  if (expiring_keys_ == 0) return keydir_.size();
  std::size_t live = 0;
  keydir_.for_each([&](std::string_view, const Location& l) { live += !expired(l, now); });
  return live;
}

std::vector<std::string> Store::Impl::keys(std::string_view prefix) const {
  check_open();
  const std::uint64_t now = now_micros();
  std::vector<std::string> out;
  {
    std::shared_lock state_lock(state_mutex_);
    keydir_.for_each([&](std::string_view key, const Location& l) {
      if (key.starts_with(prefix) && !expired(l, now)) out.emplace_back(key);
    });
  }
  std::sort(out.begin(), out.end());
  return out;
}

void Store::Impl::for_each(
    const std::function<void(std::string_view, std::string_view)>& fn) const {
  check_open();
  const std::uint64_t now = now_micros();
  // Snapshot the locations (records never change once written, and the
  // segment pointers keep removed files readable), then read in file order.
  struct Entry {
    std::uint64_t position;  // segment id << 32 | offset: sorts in file order
    std::uint32_t size;
  };
  std::vector<Entry> snapshot;
  std::map<std::uint32_t, std::shared_ptr<Segment>> pinned_segments;
  {
    std::shared_lock state_lock(state_mutex_);
    snapshot.reserve(keydir_.size());
    keydir_.for_each([&](std::string_view, const Location& l) {
      if (!expired(l, now)) snapshot.push_back({std::uint64_t{l.segment} << 32 | l.offset, l.size});
    });
    for (const auto& [id, state] : segments_) pinned_segments.emplace(id, state.segment);
  }
  std::sort(snapshot.begin(), snapshot.end(),
            [](const Entry& a, const Entry& b) { return a.position < b.position; });
  // Read runs of neighbouring records with one read of up to kWindow bytes
  // instead of one read per record (a view, where the backend has them).
  constexpr std::uint64_t kWindow = 1 << 20, kMaxGap = 64 << 10;
  std::string scratch;
  std::span<const std::byte> window;
  std::uint64_t window_start = 0, window_end = 0;
  std::uint32_t current = 0;
  const Segment* segment = nullptr;
  CheckedRecord record;
  for (std::size_t i = 0; i < snapshot.size(); ++i) {
    const auto id = static_cast<std::uint32_t>(snapshot[i].position >> 32);
    const auto offset = static_cast<std::uint32_t>(snapshot[i].position);
    const std::uint32_t size = snapshot[i].size;
    if (segment == nullptr || id != current) {
      segment = pinned_segments.at(id).get();
      current = id;
      window_start = window_end = 0;
    }
    if (offset < window_start || offset + size > window_end) {
      std::uint64_t end = offset + std::uint64_t{size};
      for (std::size_t j = i + 1; j < snapshot.size() && snapshot[j].position >> 32 == id; ++j) {
        const auto next = static_cast<std::uint32_t>(snapshot[j].position);
        const std::uint64_t next_end = next + std::uint64_t{snapshot[j].size};
        if (next > end + kMaxGap || next_end - offset > kWindow) break;
        end = next_end;
      }
      scratch.resize(end - offset);
      window = segment->read(offset, end - offset, std::as_writable_bytes(std::span(scratch)));
      window_start = offset;
      window_end = end;
    }
    const std::span<const std::byte> bytes = window.subspan(offset - window_start, size);
    check_record(*segment, offset, bytes, record);
    fn(record.key, record.value);
  }
}

void Store::Impl::sync() {
  check_open();
  if (options_.read_only) return;
  std::uint64_t sequence;
  {
    std::lock_guard write_lock(write_mutex_);
    sequence = appended_sequence_;
  }
  sync_to(sequence);
}

void Store::Impl::sync_to(std::uint64_t sequence) {
  // Group commit: one thread at a time (the leader) syncs, without holding
  // sync_mutex_. Writers that arrive meanwhile wait for that sync to end:
  // all whose writes it covered return at once, and one of the others leads
  // the next sync, which covers every write appended before it starts.
  std::unique_lock sync_lock(sync_mutex_);
  while (synced_sequence_ < sequence) {
    if (syncing_) {
      sync_done_.wait(sync_lock);
      continue;
    }
    syncing_ = true;
    const std::uint64_t base = synced_sequence_;
    // (Only writers under SyncPolicy::always come back for more.)
    const std::uint64_t group = options_.sync == SyncPolicy::always ? last_group_ : 0;
    const auto patience = last_sync_duration_ / 2;
    sync_lock.unlock();
    // The writers the last sync released are about to append again; give
    // them a moment (at most half a sync) so that one sync covers them all.
    // A lone writer never waits: its group is itself.
    const auto start = std::chrono::steady_clock::now();
    while (appended_sequence_.load(std::memory_order_relaxed) - base < group &&
           std::chrono::steady_clock::now() - start < patience) {
      std::this_thread::yield();
    }
    std::uint64_t target = 0;
    std::chrono::steady_clock::time_point sync_start;
    try {
      std::shared_ptr<Segment> segment;
      {
        // Segments before the active one were synced when they were sealed.
        std::lock_guard write_lock(write_mutex_);
        segment = active_;
        target = appended_sequence_;
      }
      sync_start = std::chrono::steady_clock::now();
      if (segment) segment->sync();  // null once close() has sealed (and so synced) it
    } catch (...) {
      sync_lock.lock();
      syncing_ = false;
      sync_done_.notify_all();  // a waiter retries, and gets its own error if it fails again
      throw;
    }
    const auto took = std::chrono::steady_clock::now() - sync_start;
    sync_lock.lock();
    syncing_ = false;
    last_group_ = std::max<std::uint64_t>(target - std::min(target, base), 1);
    last_sync_duration_ = std::min<std::chrono::steady_clock::duration>(took, kMaxGroupWait * 2);
    synced_sequence_ = std::max(synced_sequence_, target);
    sync_done_.notify_all();
  }
}

void Store::Impl::sync_loop(std::stop_token stop) {
  std::unique_lock lock(sync_loop_mutex_);
  while (!stop.stop_requested()) {
    sync_loop_wake_.wait_for(lock, stop, options_.sync_interval, [] { return false; });
    if (stop.stop_requested()) break;
    try {
      std::uint64_t sequence;
      {
        std::lock_guard write_lock(write_mutex_);
        sequence = appended_sequence_;
      }
      sync_to(sequence);
    } catch (const std::exception& e) {
      log(std::string("background sync failed: ") + e.what());
    }
  }
}

Stats Store::Impl::stats() const {
  check_open();
  Stats out = recovery_stats_;
  out.merges = merges_;
  std::shared_lock state_lock(state_mutex_);
  out.keys = keydir_.size();
  out.keydir_bytes = keydir_.memory_bytes();
  std::vector<const SegmentState*> ordered;
  for (const auto& [id, state] : segments_) ordered.push_back(&state);
  std::sort(ordered.begin(), ordered.end(),
            [](const SegmentState* a, const SegmentState* b) { return replays_before(*a, *b); });
  for (const SegmentState* state : ordered) {
    out.segments.push_back(state->stats);
    out.disk_bytes += state->stats.bytes;
  }
  return out;
}

}  // namespace pyk
