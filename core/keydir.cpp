#include "core/keydir.h"

#include <boost/container_hash/hash.hpp>
#include <cstring>

#include "core/error.h"

namespace pyk {
namespace {

template <class T>
T load(const std::byte* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
template <class T>
void store(std::byte* p, T v) {
  std::memcpy(p, &v, sizeof v);
}

}  // namespace

KeyDir::KeyDir() : table_(0, Hash{this}, Equal{this}) {}

std::size_t KeyDir::Hash::operator()(std::uint32_t position) const {
  return (*this)(owner->key_at(position));
}
std::size_t KeyDir::Hash::operator()(std::string_view key) const {
  return boost::hash<std::string_view>()(key);
}
bool KeyDir::Equal::operator()(std::string_view key, std::uint32_t position) const {
  return owner->key_at(position) == key;
}
bool KeyDir::Equal::operator()(std::uint32_t position, std::string_view key) const {
  return owner->key_at(position) == key;
}

std::size_t KeyDir::entry_size(std::size_t key_size, bool has_expiry) {
  const std::size_t raw = kEntryHeader + key_size + (has_expiry ? 8 : 0);
  return (raw + kAlign - 1) / kAlign * kAlign;
}

const std::byte* KeyDir::at(std::uint32_t position) const {
  const std::size_t byte = std::size_t{position} * kAlign;
  return chunks_[byte / kChunkSize].get() + byte % kChunkSize;
}
std::byte* KeyDir::at(std::uint32_t position) {
  return const_cast<std::byte*>(std::as_const(*this).at(position));
}

std::string_view KeyDir::key_at(std::uint32_t position) const {
  const std::byte* p = at(position);
  std::size_t key_size = load<std::uint16_t>(p + 12);
  if (key_size == 0) key_size = 65536;
  return {reinterpret_cast<const char*>(p + kEntryHeader), key_size};
}

Location KeyDir::location_at(std::uint32_t position) const {
  const std::byte* p = at(position);
  Location location{load<std::uint32_t>(p), load<std::uint32_t>(p + 4),
                    load<std::uint32_t>(p + 8), 0};
  if (p[14] != std::byte{0}) {
    location.expiry = load<std::uint64_t>(p + kEntryHeader + key_at(position).size());
  }
  return location;
}

std::uint32_t KeyDir::allocate(std::size_t bytes) {
  if (chunk_used_ + bytes > kChunkSize) {
    // Positions are u32 counts of kAlign bytes: 32 GiB of arena at most.
    if ((chunks_.size() + 1) * kChunkSize / kAlign > UINT32_MAX)
      throw InvalidArgument("keydir full: more keys than pyk can index in memory");
    chunks_.push_back(std::make_unique_for_overwrite<std::byte[]>(kChunkSize));
    chunk_used_ = 0;
  }
  const std::size_t byte = (chunks_.size() - 1) * kChunkSize + chunk_used_;
  chunk_used_ += bytes;
  return static_cast<std::uint32_t>(byte / kAlign);
}

std::uint32_t KeyDir::write_entry(std::string_view key, const Location& location) {
  const bool has_expiry = location.expiry != 0;
  const std::uint32_t position = allocate(entry_size(key.size(), has_expiry));
  std::byte* p = at(position);
  store<std::uint32_t>(p, location.segment);
  store<std::uint32_t>(p + 4, location.offset);
  store<std::uint32_t>(p + 8, location.size);
  store<std::uint16_t>(p + 12, static_cast<std::uint16_t>(key.size()));  // 65536 wraps to 0
  p[14] = std::byte{has_expiry};
  p[15] = std::byte{0};
  std::memcpy(p + kEntryHeader, key.data(), key.size());
  if (has_expiry) store<std::uint64_t>(p + kEntryHeader + key.size(), location.expiry);
  return position;
}

std::optional<Location> KeyDir::put(std::string_view key, const Location& location) {
  auto it = table_.find(key);
  if (it == table_.end()) {
    table_.insert(write_entry(key, location));
    return std::nullopt;
  }
  const std::uint32_t position = *it;
  const Location previous = location_at(position);
  if ((previous.expiry != 0) == (location.expiry != 0)) {  // same entry size: update in place
    std::byte* p = at(position);
    store<std::uint32_t>(p, location.segment);
    store<std::uint32_t>(p + 4, location.offset);
    store<std::uint32_t>(p + 8, location.size);
    if (location.expiry != 0) store<std::uint64_t>(p + kEntryHeader + key.size(), location.expiry);
    return previous;
  }
  table_.erase(it);
  garbage_bytes_ += entry_size(key.size(), previous.expiry != 0);
  table_.insert(write_entry(key, location));
  compact_if_wasteful();
  return previous;
}

std::optional<Location> KeyDir::erase(std::string_view key) {
  auto it = table_.find(key);
  if (it == table_.end()) return std::nullopt;
  const Location previous = location_at(*it);
  garbage_bytes_ += entry_size(key.size(), previous.expiry != 0);
  table_.erase(it);
  compact_if_wasteful();
  return previous;
}

std::optional<Location> KeyDir::find(std::string_view key) const {
  auto it = table_.find(key);
  if (it == table_.end()) return std::nullopt;
  return location_at(*it);
}

std::size_t KeyDir::memory_bytes() const {
  // Each slot is 4 bytes; boost's flat tables add 16 bytes of metadata per
  // group of 15 slots.
  const std::size_t slots = table_.bucket_count();
  return chunks_.size() * kChunkSize + slots * sizeof(std::uint32_t) + (slots / 15 + 1) * 16;
}

void KeyDir::compact_if_wasteful() {
  const std::size_t arena = chunks_.size() * kChunkSize;
  if (garbage_bytes_ < 4 * kChunkSize || garbage_bytes_ * 2 < arena) return;
  // Rebuild into a fresh arena; the erased entries' bytes are left behind.
  KeyDir fresh;
  fresh.table_.reserve(table_.size());
  for (const std::uint32_t position : table_) {
    fresh.table_.insert(fresh.write_entry(key_at(position), location_at(position)));
  }
  chunks_ = std::move(fresh.chunks_);
  chunk_used_ = fresh.chunk_used_;
  garbage_bytes_ = 0;
  // The fresh table's functors point at `fresh`; rebuild ours over the moved arena.
  boost::unordered_flat_set<std::uint32_t, Hash, Equal> table(fresh.table_.size(), Hash{this},
                                                              Equal{this});
  for (const std::uint32_t position : fresh.table_) table.insert(position);
  fresh.table_.clear();
  table_ = std::move(table);
}

}  // namespace pyk
