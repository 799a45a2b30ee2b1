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
  commit_.stop_interval();
  maintenance_.stop();
  std::lock_guard maintenance(maintenance_mutex_);  // let a merge on another thread finish
  open_ = false;  // even if sealing fails below, the store is unusable now
  std::lock_guard write_lock(write_mutex_);
  if (writer_ && writer_->active()) {
    const Segment& active = *writer_->active();
    const std::uint32_t id = writer_->active_id();
    writer_->active()->seal();
    // A big active segment is hinted (and so sealed for good), so that the
    // next open reads hints only.
    if (active.size() >= seal_at_close_bytes()) {
      try {
        hint::write(*directory_, id, active);
      } catch (const std::exception& e) {  // only costs the next open a scan
        log("writing hint file of segment " + std::to_string(id) + " failed: " + e.what());
      }
    }
  }
  std::unique_lock state_lock(state_mutex_);
  if (writer_) writer_->release();
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

Store::Impl::CheckedRecord Store::Impl::read_record(const std::shared_ptr<Segment>& segment,
                                                    const Location& location,
                                                    std::string& buffer, bool pin) const {
  CheckedRecord out;
  // A view costs no lock and no reference count; records are never empty.
  std::span<const std::byte> record;
  if (!pin) record = segment->view(location.offset, location.size);
  if (record.empty()) {
    out.pinned = segment->pin(location.offset, location.size);
    record = out.pinned.bytes;
    if (!out.pinned.keep_alive) {  // no zero-copy on this backend: read a copy
      buffer.resize(location.size);
      segment->read(location.offset, std::as_writable_bytes(std::span(buffer)));
      record = format::as_bytes(buffer);
    }
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
    segment = segments_.segment(location.segment);
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
    if (r.pinned.keep_alive) {
      out = Store::PinnedValue{r.value, r.pinned.keep_alive};
    } else {  // file backend: hand over one private copy
      auto copy = std::make_shared<const std::string>(r.value);
      out = Store::PinnedValue{*copy, copy};
    }
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
  if (segments_.expiring_keys() == 0) return keydir_.size();
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
  std::map<std::uint32_t, std::shared_ptr<Segment>> segments;
  {
    std::shared_lock state_lock(state_mutex_);
    snapshot.reserve(keydir_.size());
    keydir_.for_each([&](std::string_view, const Location& l) {
      if (!expired(l, now)) snapshot.push_back({std::uint64_t{l.segment} << 32 | l.offset, l.size});
    });
    segments = segments_.segments();
  }
  std::sort(snapshot.begin(), snapshot.end(),
            [](const Entry& a, const Entry& b) { return a.position < b.position; });
  // Where the backend has no views, read runs of neighbouring records with
  // one read of up to kWindow bytes instead of one read per record.
  constexpr std::uint64_t kWindow = 1 << 20, kMaxGap = 64 << 10;
  std::string window;
  std::uint64_t window_start = 0, window_end = 0;
  std::uint32_t current = 0;
  const Segment* segment = nullptr;
  CheckedRecord record;
  for (std::size_t i = 0; i < snapshot.size(); ++i) {
    const auto id = static_cast<std::uint32_t>(snapshot[i].position >> 32);
    const auto offset = static_cast<std::uint32_t>(snapshot[i].position);
    const std::uint32_t size = snapshot[i].size;
    if (segment == nullptr || id != current) {
      segment = segments.at(id).get();
      current = id;
      window_start = window_end = 0;
    }
    std::span<const std::byte> bytes = segment->view(offset, size);
    if (bytes.empty()) {
      if (offset < window_start || offset + size > window_end) {
        std::uint64_t end = offset + std::uint64_t{size};
        for (std::size_t j = i + 1; j < snapshot.size() && snapshot[j].position >> 32 == id; ++j) {
          const auto next = static_cast<std::uint32_t>(snapshot[j].position);
          const std::uint64_t next_end = next + std::uint64_t{snapshot[j].size};
          if (next > end + kMaxGap || next_end - offset > kWindow) break;
          end = next_end;
        }
        window.resize(end - offset);
        segment->read(offset, std::as_writable_bytes(std::span(window)));
        window_start = offset;
        window_end = end;
      }
      bytes = format::as_bytes(window).subspan(offset - window_start, size);
    }
    check_record(*segment, offset, bytes, record);
    fn(record.key, record.value);
  }
}

Stats Store::Impl::stats() const {
  check_open();
  Stats out = recovery_stats_;
  out.merges = merges_;
  std::shared_lock state_lock(state_mutex_);
  out.keys = keydir_.size();
  out.keydir_bytes = keydir_.memory_bytes();
  segments_.report(out);
  return out;
}

}  // namespace pyk
