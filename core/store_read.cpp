// The read side of Store::Impl. get and get_many look up through the read
// gate (core/read_gate.h), then read the record (CRC checked) with no lock
// held; the other reads hold state_mutex_ shared for their keydir pass.
#include <algorithm>
#include <array>
#include <optional>

#include "core/error.h"
#include "core/store_impl.h"

namespace pyk {

template <class Fn>
bool Store::Impl::with_record(std::string_view key, Fn&& fn) const {
  check_open();
  check_key(key);
  // Holds the segment found below alive through the read, with no reference
  // count; the lookup itself writes only this thread's gate slot.
  const ReadGate::Reading reading(gate_);
  Location location;
  const Segment* segment = nullptr;
  const bool found = gate_.lookup(state_mutex_, [&] {
    const auto at = keydir_.find(key);
    if (!at) return false;
    location = *at;
    segment = segments_.find_segment(at->segment);
    return true;
  });
  if (!found) return false;
  if (segment == nullptr) {  // close() took the segments after check_open() above
    check_open();
    throw Error("keydir points into segment " + std::to_string(location.segment) +
                ", which the store does not hold");
  }
  prefetch_whole(*segment, location.offset, location.size);
  // The clock is read only for keys that can expire.
  if (location.expiry != 0 && expired(location, now_micros())) return false;
  // No lock held: the record is immutable and `reading` keeps its file open.
  fn(*segment, location);
  return true;
}

std::optional<std::string> Store::Impl::get(std::string_view key) const {
  std::optional<std::string> out;
  with_record(key, [&](const Segment& segment, const Location& location) {
    read_value_into(segment, location, key, out.emplace());
  });
  return out;
}

bool Store::Impl::get_into(std::string_view key, std::string& out) const {
  return with_record(key, [&](const Segment& segment, const Location& location) {
    read_value_into(segment, location, key, out);
  });
}

std::optional<Store::PinnedValue> Store::Impl::get_pinned(std::string_view key) const {
  std::optional<Store::PinnedValue> out;
  with_record(key, [&](const Segment& segment, const Location& location) {
    const CheckedRecord r = read_pinned_record(segment, location, key);
    out = Store::PinnedValue{r.value, r.pinned.keep_alive};
  });
  return out;
}

void Store::Impl::get_many_into(std::span<const std::string_view> keys,
                                std::vector<std::optional<std::string>>& out) const {
  check_open();
  for (const std::string_view key : keys)
    check_key(key);
  out.resize(keys.size());
  const ReadGate::Reading reading(gate_);  // every segment found stays readable
  // In windows, so a lookup pass keeps a writer waiting for kWindow lookups at most.
  constexpr std::size_t kWindow = 32;
  struct Found {
    Location location;
    const Segment* segment;  // null: absent
  };
  std::array<Found, kWindow> found;
  std::array<std::optional<Location>, kWindow> looked_up;
  std::array<std::size_t, kWindow> to_copy;
  std::array<SegmentRead, kWindow> reads;
  for (std::size_t base = 0; base < keys.size(); base += kWindow) {
    const std::size_t n = std::min(kWindow, keys.size() - base);
    // 1. The lookups as a batch (KeyDir::find_many): their cache misses overlap.
    bool any_expiry = false, closed = false;
    gate_.lookup(state_mutex_, [&] {
      keydir_.find_many(keys.subspan(base, n), std::span(looked_up).first(n));
      for (std::size_t i = 0; i < n; ++i) {
        found[i].segment = nullptr;
        if (!looked_up[i]) continue;
        found[i].location = *looked_up[i];
        found[i].segment = segments_.find_segment(looked_up[i]->segment);
        closed |= found[i].segment == nullptr;
        any_expiry |= looked_up[i]->expiry != 0;
      }
    });
    if (closed) {  // as in with_record: close() took the segments
      check_open();
      throw Error("keydir points into a segment the store does not hold");
    }
    const std::uint64_t now = any_expiry ? now_micros() : 0;
    // 2. Every record asked for, before reading any.
    for (std::size_t i = 0; i < n; ++i) {
      if (found[i].segment != nullptr)
        prefetch_head(*found[i].segment, found[i].location.offset, found[i].location.size);
    }
    // 3. Read and check each: in place where the segment is zero-copy;
    // otherwise into the value's string, the window's records of one
    // segment with one Segment::read_many (one system call on file).
    std::size_t copied = 0;  // to_copy[0, copied): indexes into found
    for (std::size_t i = 0; i < n; ++i) {
      const Found& f = found[i];
      std::optional<std::string>& value = out[base + i];
      if (f.segment == nullptr || expired(f.location, now)) {
        value.reset();
        continue;
      }
      if (!value) value.emplace();  // its capacity is reused
      if (f.segment->zero_copy()) {
        if (i + 1 < n && found[i + 1].segment != nullptr) {  // the next record, while this one is read
          const Found& next = found[i + 1];
          prefetch_whole(*next.segment, next.location.offset, next.location.size);
        }
        read_value_into(*f.segment, f.location, keys[base + i], *value);
      } else {
        value->resize(f.location.size);
        to_copy[copied++] = i;
      }
    }
    for (std::size_t done = 0; done < copied;) {
      // Gathers the reads of to_copy[done]'s segment to the front of what is left.
      const Segment* segment = found[to_copy[done]].segment;
      std::size_t count = 0;
      for (std::size_t j = done; j < copied; ++j) {
        if (found[to_copy[j]].segment != segment) continue;
        std::swap(to_copy[done + count], to_copy[j]);
        const std::size_t i = to_copy[done + count];
        reads[count++] = {found[i].location.offset, std::as_writable_bytes(std::span(*out[base + i]))};
      }
      segment->read_many(std::span(reads).first(count));
      for (std::size_t k = 0; k < count; ++k) {
        const std::size_t i = to_copy[done + k];
        value_of_record_in(*segment, found[i].location, keys[base + i], *out[base + i]);
      }
      done += count;
    }
  }
}

bool Store::Impl::contains(std::string_view key) const {
  check_open();
  check_key(key);
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
  std::map<std::uint32_t, std::shared_ptr<Segment>> segments;
  RecordsBySegment records;
  {
    std::shared_lock state_lock(state_mutex_);
    segments = segments_.segments();
    std::vector<HeldSegment> held;
    held.reserve(segments.size());
    for (const auto& [id, segment] : segments) held.push_back({id, segment->size()});
    records = RecordsBySegment::build(held, [&](const auto& fn) {
      keydir_.for_each([&](std::string_view, const Location& l) {
        if (!expired(l, now)) fn(l);
      });
    });
  }
  // A damaged record is skipped, never replaced by an older one of its key.
  std::optional<CorruptionError> first_damage;
  std::uint64_t damaged = 0;
  std::vector<RecordRef> spare;  // the sort's buffer: as big as the biggest region
  for (std::size_t i = 0; i < records.ids.size(); ++i) {
    for (std::size_t r = records.first_region[i]; r < records.first_region[i + 1]; ++r)
      sort_in_file_order(records.region(r), spare);
    const std::span<RecordRef> group = records.group(i);
    const bool went_on = read_in_file_order(
        *segments.at(records.ids[i]), group,
        [&](const CheckedRecord& record) { return fn(record.key, record.value); },
        [&](const CorruptionError& e) {
          log(std::string("for_each skipped a damaged record: ") + e.what());
          if (!first_damage) first_damage = e;
          ++damaged;
        });
    if (!went_on) break;
  }
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
  {
    std::lock_guard write_lock(write_mutex_);
    if (writer_) out.spare_segments = writer_->spare_count();
  }
  std::shared_lock state_lock(state_mutex_);
  out.keys = keydir_.size();
  out.keydir_bytes = keydir_.memory_bytes();
  segments_.report(out, now);
  return out;
}

}  // namespace pyk
