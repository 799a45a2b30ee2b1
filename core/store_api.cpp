// Store's expiry, conditional-write, read-modify-write and scan members: the
// public ones forward to three Impl members (ttl, update, scan) defined here
// over the write path the other writes use (append_and_apply).
#include <algorithm>

#include "core/error.h"
#include "core/guarded.h"
#include "core/store.h"
#include "core/store_impl.h"

namespace pyk {

Change Change::put(std::string value, std::chrono::microseconds ttl) {
  if (ttl.count() <= 0) throw InvalidArgument("ttl must be positive");
  return Change(Action::put, std::move(value), Expiry::after, ttl);
}

// --- Store: the public face -------------------------------------------------

KeyTtl Store::ttl(std::string_view key) const {
  return guarded([&] { return impl().ttl(key); });
}

bool Store::expire(std::string_view key, std::chrono::microseconds ttl) {
  if (ttl.count() <= 0) throw InvalidArgument("ttl must be positive");
  return update(key, [&](const KeyState& now) {
    return now.value ? Change::put(std::string(*now.value), ttl) : Change::unchanged();
  });
}

bool Store::persist(std::string_view key) {
  return update(key, [](const KeyState& now) {
    return now.value && now.ttl ? Change::put(std::string(*now.value)) : Change::unchanged();
  });
}

namespace {
// A put if `present` is what the key's presence must be.
Change put_if(bool present, const KeyState& now, std::string_view value,
              std::optional<std::chrono::microseconds> ttl) {
  if (now.value.has_value() != present) return Change::unchanged();
  return ttl ? Change::put(std::string(value), *ttl) : Change::put(std::string(value));
}
}  // namespace

bool Store::put_if_absent(std::string_view key, std::string_view value) {
  return update(key, [&](const KeyState& now) { return put_if(false, now, value, {}); });
}
bool Store::put_if_absent(std::string_view key, std::string_view value,
                          std::chrono::microseconds ttl) {
  if (ttl.count() <= 0) throw InvalidArgument("ttl must be positive");
  return update(key, [&](const KeyState& now) { return put_if(false, now, value, ttl); });
}
bool Store::put_if_present(std::string_view key, std::string_view value) {
  return update(key, [&](const KeyState& now) { return put_if(true, now, value, {}); });
}
bool Store::put_if_present(std::string_view key, std::string_view value,
                           std::chrono::microseconds ttl) {
  if (ttl.count() <= 0) throw InvalidArgument("ttl must be positive");
  return update(key, [&](const KeyState& now) { return put_if(true, now, value, ttl); });
}

bool Store::update(std::string_view key, const std::function<Change(const KeyState&)>& fn) {
  return guarded([&] { return impl().update(key, fn); });
}

ScanPage Store::scan(std::uint64_t cursor, std::string_view prefix, std::size_t count) const {
  return guarded([&] { return impl().scan(cursor, prefix, count); });
}

// --- Impl ---------------------------------------------------------------------

KeyTtl Store::Impl::ttl(std::string_view key) const {
  check_open();
  const std::uint64_t now = now_micros();
  std::shared_lock state_lock(state_mutex_);
  const auto found = keydir_.find(key);
  if (!found || expired(*found, now)) return {};
  if (found->expiry == 0) return {KeyTtl::State::persistent, {}};
  return {KeyTtl::State::expiring, std::chrono::microseconds(found->expiry - now)};
}

bool Store::Impl::update(std::string_view key,
                         const std::function<Change(const KeyState&)>& fn) {
  check_writable();
  validate(key, {});
  thread_local std::string buffer, encoded;
  std::uint64_t sequence;
  {
    // Held from the read to the append: no other write lands in between.
    std::lock_guard write_lock(write_mutex_);
    check_open();
    const std::uint64_t now = now_micros();
    std::optional<Location> found;
    std::shared_ptr<Segment> segment;
    {
      std::shared_lock state_lock(state_mutex_);
      found = keydir_.find(key);
      if (found && expired(*found, now)) found.reset();
      if (found) segment = segments_.segment(found->segment);
    }
    KeyState state;
    CheckedRecord record;
    if (found) {
      record = read_record(*segment, *found, buffer);
      state.value = record.value;
      if (found->expiry != 0) state.ttl = std::chrono::microseconds(found->expiry - now);
    }
    const Change change = fn(state);
    const bool erase = change.action() == Change::Action::erase;
    if (change.action() == Change::Action::keep || (erase && !found)) return false;

    std::uint64_t expiry = 0;
    if (change.expiry() == Change::Expiry::after) {
      expiry = now + static_cast<std::uint64_t>(change.ttl().count());
    } else if (change.expiry() == Change::Expiry::keep && found) {
      expiry = found->expiry;
    }
    encoded.clear();
    if (erase) {
      format::encode_record(encoded, format::RecordType::tombstone, key, {}, now, 0);
    } else {
      validate(key, change.value());
      format::encode_record(encoded, format::RecordType::value, key, change.value(), now, expiry);
    }
    sequence = append_and_apply(encoded, [&](Location at, SegmentSet::Entry& home) {
      if (erase) {
        segments_.count_erase(home, keydir_.erase(key), at.size);
      } else {
        at.expiry = expiry;
        segments_.count_put(home, keydir_.put(key, at), at);
      }
    });
  }
  wait_durable(sequence);
  return true;
}

ScanPage Store::Impl::scan(std::uint64_t cursor, std::string_view prefix,
                           std::size_t count) const {
  check_open();
  if (count == 0) throw InvalidArgument("scan count must be positive");
  // Dead arena entries cost a step too; bound them so one call stays short
  // even in an arena that is mostly garbage.
  constexpr std::size_t kSlotsPerKey = 16;
  const std::size_t max_slots = count > SIZE_MAX / kSlotsPerKey ? SIZE_MAX : count * kSlotsPerKey;
  const std::uint64_t now = now_micros();
  ScanPage page;
  std::shared_lock state_lock(state_mutex_);
  page.next_cursor =
      keydir_.walk(cursor, count, max_slots, [&](std::string_view key, const Location& l) {
        if (key.starts_with(prefix) && !expired(l, now)) page.keys.emplace_back(key);
      });
  return page;
}

}  // namespace pyk
