// The read side of Store::Impl: lookups under a brief shared lock, then the
// record read (CRC checked) with no lock held.
#include <algorithm>
#include <optional>

#include "core/error.h"

#include "core/store_impl.h"

namespace pyk {

template <class Fn>
bool Store::Impl::with_record(std::string_view key, std::string& buffer, bool pin, Fn&& fn) const {
  check_open();
  if (key.empty()) throw InvalidArgument("empty key");
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
  fn(pin ? read_pinned_record(*segment, location) : read_record(*segment, location, buffer));
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
  if (key.empty()) throw InvalidArgument("empty key");
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
    const std::function<bool(std::string_view, std::string_view)>& fn) const {
  check_open();
  const std::uint64_t now = now_micros();
  // Snapshot the locations (records never change once written, and the
  // segment pointers keep removed files readable), then read in file order.
  std::vector<RecordRef> snapshot;
  std::map<std::uint32_t, std::shared_ptr<Segment>> segments;
  {
    std::shared_lock state_lock(state_mutex_);
    snapshot.reserve(keydir_.size());
    keydir_.for_each([&](std::string_view, const Location& l) {
      if (!expired(l, now)) snapshot.push_back(RecordRef::of(l));
    });
    segments = segments_.segments();
  }
  // A damaged record is skipped, never replaced by an older one of its key.
  std::optional<CorruptionError> first_damage;
  std::uint64_t damaged = 0;
  read_in_file_order(
      segments, snapshot, [&](const CheckedRecord& record) { return fn(record.key, record.value); },
      [&](const CorruptionError& e) {
        log(std::string("for_each skipped a damaged record: ") + e.what());
        if (!first_damage) first_damage = e;
        ++damaged;
      });
  if (first_damage)
    throw CorruptionError(std::to_string(damaged) + " damaged record(s) skipped by for_each; the first: " +
                              first_damage->what(),
                          first_damage->file(), first_damage->offset());
}

Stats Store::Impl::stats() const {
  check_open();
  const std::uint64_t now = now_micros();
  Stats out = recovery_stats_;
  out.merges = merges_;
  std::shared_lock state_lock(state_mutex_);
  out.keys = keydir_.size();
  out.keydir_bytes = keydir_.memory_bytes();
  segments_.report(out, now);
  return out;
}

}  // namespace pyk
