#include "core/keydir.h"

#include <cstring>
#include <random>
#include <utility>

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

// 64x64 -> 128-bit multiply, folded: the mixing step of wyhash.
std::uint64_t mum(std::uint64_t a, std::uint64_t b) {
  const unsigned __int128 r = static_cast<unsigned __int128>(a) * b;
  return static_cast<std::uint64_t>(r) ^ static_cast<std::uint64_t>(r >> 64);
}
std::uint64_t read8(const unsigned char* p) { return load<std::uint64_t>(reinterpret_cast<const std::byte*>(p)); }
std::uint64_t read4(const unsigned char* p) { return load<std::uint32_t>(reinterpret_cast<const std::byte*>(p)); }

// A seed drawn once per process, so keys chosen to collide (hash flooding)
// cannot be prepared in advance.
std::uint64_t process_seed() {
  static const std::uint64_t seed = [] {
    std::random_device random;
    return (std::uint64_t{random()} << 32) ^ random();
  }();
  return seed;
}

// wyhash-style hash (final version 4, default secret, seeded): two
// multiplies for a key of up to 16 bytes where boost::hash<string_view>
// 1.81 combines 4 bytes at a time and the table then mixes again.
// Avalanching, so the table skips its own mixing step. A saved table
// (KeyDirTable::image) is only valid under this exact function: changing it
// bumps format::kSnapshotVersion.
std::uint64_t hash_bytes(std::string_view key, std::uint64_t key_seed) {
  constexpr std::uint64_t s0 = 0xa0761d6478bd642full, s1 = 0xe7037ed1a0b428dbull,
                          s2 = 0x8ebc6af09c88c6e3ull, s3 = 0x589965cc75374cc3ull;
  const auto* p = reinterpret_cast<const unsigned char*>(key.data());
  std::size_t n = key.size();
  std::uint64_t seed = s0 ^ key_seed, a, b;
  if (n <= 16) {
    if (n >= 4) {
      const std::size_t step = (n >> 3) << 2;
      a = (read4(p) << 32) | read4(p + step);
      b = (read4(p + n - 4) << 32) | read4(p + n - 4 - step);
    } else if (n > 0) {
      a = (std::uint64_t{p[0]} << 16) | (std::uint64_t{p[n >> 1]} << 8) | p[n - 1];
      b = 0;
    } else {
      a = b = 0;
    }
  } else {
    std::size_t i = n;
    for (; i > 16; i -= 16, p += 16) seed = mum(read8(p) ^ s1, read8(p + 8) ^ seed);
    a = read8(p + i - 16);
    b = read8(p + i - 8);
  }
  return mum(s1 ^ n, mum(a ^ s1, b ^ seed ^ s2) ^ s3);
}

}  // namespace

KeyDir::KeyDir() : seed_(process_seed()) {}

std::uint64_t KeyDir::hash(std::string_view key) const { return hash_bytes(key, seed_); }

const std::byte* KeyDir::at(std::uint32_t position) const {
  return chunks_[position / kChunkSize].get() + position % kChunkSize;
}
std::byte* KeyDir::at(std::uint32_t position) {
  return const_cast<std::byte*>(std::as_const(*this).at(position));
}

std::string_view KeyDir::key_at(std::uint32_t position) const { return entry_key(at(position)); }

Location KeyDir::location_at(std::uint32_t position) const { return entry_location(at(position)); }

std::size_t KeyDir::bounded_entry_size(const std::byte* p, std::size_t avail) {
  if (avail < 1) return 0;
  std::size_t key_size = head(p) & kKeySizeMask, at = 1;
  if (key_size == 0) {
    if (avail < 3) return 0;
    std::uint16_t long_size;
    std::memcpy(&long_size, p + 1, sizeof long_size);
    key_size = long_size == 0 ? 65536 : long_size;
    at = 3;
  }
  at += key_size + 4;
  for (int varint = 0; varint < 2; ++varint) {  // the segment id and the size
    for (int shift = 0;; shift += 7) {
      if (at >= avail) return 0;
      const auto b = static_cast<std::uint8_t>(p[at++]);
      if (b < 0x80 || shift >= 28) break;
    }
  }
  if ((head(p) & kHasExpiry) != 0) at += 8;
  return at <= avail ? at : 0;
}

std::uint32_t KeyDir::allocate(std::size_t bytes) {
  if (chunk_used_ + bytes > kChunkSize) {
    // Positions are u32 byte offsets: 4 GiB of arena at most.
    if ((chunks_.size() + 1) * kChunkSize > std::size_t{UINT32_MAX} + 1)
      throw InvalidArgument("keydir full: more keys than pyk can index in memory");
    if (!chunks_.empty()) {
      chunk_ends_.push_back(chunk_used_);
      keydir_memory::collapse(chunks_.back().get(), kChunkSize);  // full: see keydir_memory.h
    }
    chunks_.push_back(new_chunk(false));
    chunk_used_ = 0;
  }
  const std::size_t byte = (chunks_.size() - 1) * kChunkSize + chunk_used_;
  chunk_used_ += bytes;
  return static_cast<std::uint32_t>(byte);
}

void KeyDir::encode_entry(std::byte* p, std::string_view key, const Location& location) {
  const bool has_expiry = location.expiry != 0;
  const bool long_key = key.size() > kKeySizeMask;
  p[0] = std::byte(static_cast<std::uint8_t>((long_key ? 0 : key.size()) |
                                             (has_expiry ? kHasExpiry : 0)));
  std::byte* q = p + 1;
  if (long_key) {
    store<std::uint16_t>(q, static_cast<std::uint16_t>(key.size()));  // 65536 wraps to 0
    q += 2;
  }
  std::memcpy(q, key.data(), key.size());
  q += key.size();
  store<std::uint32_t>(q, location.offset);
  q += 4;
  for (std::uint32_t v : {location.segment, location.size}) {
    for (; v >= 0x80; v >>= 7) *q++ = std::byte(static_cast<std::uint8_t>(v | 0x80));
    *q++ = std::byte(static_cast<std::uint8_t>(v));
  }
  if (has_expiry) store<std::uint64_t>(q, location.expiry);
}

std::uint32_t KeyDir::write_entry(std::string_view key, const Location& location) {
  const std::uint32_t position = allocate(entry_size(key.size(), location));
  encode_entry(at(position), key, location);
  return position;
}

std::optional<Location> KeyDir::put(std::string_view key, std::uint64_t key_hash,
                                    const Location& location) {
  const KeyDirTable::Slot slot = find_slot(key, key_hash);
  if (!slot) {
    // Grown for a new key only (an overwrite takes no slot: growing then
    // doubled a table sized for exactly its keys), and first, while the
    // arena's live entries are still exactly the table's.
    if (table_.full()) rebuild_table(std::max<std::size_t>(64, table_.size() * 2));
    table_.insert(key_hash, write_entry(key, location));  // write_entry may throw: nothing changed
    return std::nullopt;
  }
  const std::uint32_t position = table_.position(slot);
  std::size_t old_bytes;
  const Location previous = entry_location(at(position), &old_bytes);
  if (old_bytes == entry_size(key.size(), location)) {
    encode_entry(at(position), key, location);  // same layout (expiry-ness, varint sizes): in place
    return previous;
  }
  table_.set_position(slot, write_entry(key, location));
  at(position)[0] |= std::byte{kDead};  // for_each passes over it
  garbage_bytes_ += old_bytes;
  compact_if_wasteful();
  return previous;
}

std::optional<Location> KeyDir::erase(std::string_view key) {
  const KeyDirTable::Slot slot = find_slot(key, hash(key));
  if (!slot) return std::nullopt;
  const std::uint32_t position = table_.position(slot);
  std::size_t bytes;
  const Location previous = entry_location(at(position), &bytes);
  garbage_bytes_ += bytes;
  at(position)[0] |= std::byte{kDead};  // for_each passes over it
  table_.erase(slot);
  compact_if_wasteful();
  return previous;
}

std::optional<Location> KeyDir::find(std::string_view key) const {
  const KeyDirTable::Slot slot = find_slot(key, hash(key));
  if (!slot) return std::nullopt;
  return location_at(table_.position(slot));
}

void KeyDir::find_many(std::span<const std::string_view> keys,
                       std::span<std::optional<Location>> out) const {
  constexpr std::size_t kWindow = 16;  // about the misses a core keeps in flight
  std::uint64_t hashes[kWindow];
  for (std::size_t base = 0; base < keys.size(); base += kWindow) {
    const std::size_t n = std::min(kWindow, keys.size() - base);
    for (std::size_t i = 0; i < n; ++i) {
      hashes[i] = hash(keys[base + i]);
      table_.prefetch(hashes[i]);
    }
    for (std::size_t i = 0; i < n; ++i) {
      if (const auto position = table_.first_candidate(hashes[i])) __builtin_prefetch(at(*position));
    }
    for (std::size_t i = 0; i < n; ++i) {
      const KeyDirTable::Slot slot = find_slot(keys[base + i], hashes[i]);
      out[base + i] = slot ? std::optional(location_at(table_.position(slot))) : std::nullopt;
    }
  }
}

std::size_t KeyDir::memory_bytes() const {
  return chunks_.size() * kChunkSize + table_.memory_bytes();
}

void KeyDir::reserve(std::size_t keys) {
  if (keys > table_.capacity()) rebuild_table(keys);
}

namespace {

// Calls fn(i) for i = 0 .. hashes.size() - 1, with the table group of the
// hash kAhead further on prefetched first: the table's cache misses then
// overlap instead of coming one after the other.
template <class Fn>
bool each_prefetched(const KeyDirTable& table, std::span<const std::uint64_t> hashes, Fn&& fn) {
  constexpr std::size_t kAhead = 16;
  for (std::size_t i = 0; i < std::min(kAhead, hashes.size()); ++i) table.prefetch(hashes[i]);
  for (std::size_t i = 0; i < hashes.size(); ++i) {
    if (i + kAhead < hashes.size()) table.prefetch(hashes[i + kAhead]);
    if (!fn(i)) return false;
  }
  return true;
}

}  // namespace

template <class Fn>
bool KeyDir::each_live_chunk(KeyDirTable& table, Fn&& fn) const {
  std::vector<std::uint32_t> positions;
  std::vector<std::uint64_t> hashes;
  for (std::size_t chunk = 0; chunk < chunks_.size(); ++chunk) {
    positions.clear();
    hashes.clear();
    std::size_t garbage = 0;
    if (!scan_chunk(this->chunk(chunk), chunk, [](const Location&) { return true; },
                    [&](std::uint32_t position) {
                      positions.push_back(position);
                      hashes.push_back(hash(key_at(position)));
                    },
                    garbage))
      throw Error("the keydir's arena is malformed in memory");  // a bug, never bad input
    if (!each_prefetched(table, hashes, [&](std::size_t i) { return fn(positions[i], hashes[i]); }))
      return false;
  }
  return true;
}

bool KeyDir::index_entries(std::span<const std::uint32_t> positions,
                           std::span<const std::uint64_t> hashes) {
  return each_prefetched(table_, hashes, [&](std::size_t i) {
    const std::uint32_t position = positions[i];
    if (table_.full() || find_slot(key_at(position), hashes[i]))
      return false;  // more keys than the snapshot said, or a key twice
    table_.insert(hashes[i], position);
    return true;
  });
}

void KeyDir::TableCheck::mark(const KeyDirTable& table, std::size_t chunks) {
  words_ = chunks * (kChunkSize / 64);
  const std::size_t bytes = std::max<std::size_t>(words_, 1) * sizeof(std::uint64_t);
  // Populated (and so in huge pages): the marks below touch nearly every page.
  bits_ = std::unique_ptr<std::uint64_t[], Free>(
      static_cast<std::uint64_t*>(keydir_memory::allocate(bytes, /*populate=*/true)), Free{bytes});
  std::uint64_t* bits = bits_.get();
  // The positions' words are random accesses: a batch of them is
  // prefetched before any is noted, so that their misses overlap.
  constexpr std::size_t kBatch = 32;
  std::uint32_t batch[kBatch];
  std::size_t pending = 0;
  const auto note = [&](std::uint32_t position) { bits[position / 64] |= std::uint64_t{1} << (position % 64); };
  table.for_each_position([&](std::uint32_t position) {
    if (position / 64 >= words_) return;  // past the arena: some live entry goes unmarked
    __builtin_prefetch(&bits[position / 64]);
    batch[pending++] = position;
    if (pending == kBatch) {
      for (const std::uint32_t p : batch) note(p);
      pending = 0;
    }
  });
  for (std::size_t i = 0; i < pending; ++i) note(batch[i]);
}

void KeyDir::adopt_table(KeyDirTable table, std::uint64_t seed) {
  table_ = std::move(table);
  seed_ = seed;
}

void KeyDir::rebuild_table(std::size_t keys) {
  KeyDirTable fresh(std::max(keys, table_.size()));
  each_live_chunk(fresh, [&](std::uint32_t position, std::uint64_t key_hash) {
    fresh.insert(key_hash, position);  // the arena's live keys are distinct
    return true;
  });
  table_ = std::move(fresh);
}

void KeyDir::add_chunk(Chunk chunk, std::size_t used, std::size_t garbage_bytes) {
  if (used > kChunkSize || (chunks_.size() + 1) * kChunkSize > std::size_t{UINT32_MAX} + 1)
    throw InvalidArgument("keydir chunk of " + std::to_string(used) + " bytes cannot be added");
  if (!chunks_.empty()) chunk_ends_.push_back(chunk_used_);
  chunks_.push_back(std::move(chunk));
  chunk_used_ = used;
  garbage_bytes_ += garbage_bytes;
}

void KeyDir::clear() {
  table_ = KeyDirTable();
  chunks_.clear();
  chunk_ends_.clear();
  chunk_used_ = kChunkSize;
  garbage_bytes_ = 0;
  if (++generation_ == 0) generation_ = 1;  // a walk's cursor into the old arena starts over
}

void KeyDir::compact_if_wasteful() {
  const std::size_t arena = chunks_.size() * kChunkSize;
  constexpr std::size_t kCompactFrom = 4u << 20;  // garbage bytes: not worth a rebuild below
  if (garbage_bytes_ < kCompactFrom || garbage_bytes_ * 2 < arena) return;
  // The live entries copied into a fresh arena, in arena order (as walk
  // expects); the erased entries' bytes are left behind.
  KeyDir fresh;
  for_each([&](std::string_view key, const Location& location) { fresh.write_entry(key, location); });
  chunks_ = std::move(fresh.chunks_);
  chunk_used_ = fresh.chunk_used_;
  chunk_ends_ = std::move(fresh.chunk_ends_);
  if (++generation_ == 0) generation_ = 1;  // cursors of the old layout start over
  garbage_bytes_ = 0;
  rebuild_table(table_.size());
}

std::optional<std::uint32_t> KeyDir::next_entry(std::uint64_t& position) const {
  for (;;) {
    const std::size_t chunk = position / kChunkSize, offset = position % kChunkSize;
    if (chunk >= chunks_.size()) {
      position = kWalkEnd;
      return std::nullopt;
    }
    const std::size_t end = chunk + 1 < chunks_.size() ? chunk_ends_[chunk] : chunk_used_;
    const std::byte* p = chunks_[chunk].get() + offset;
    // 0 at the chunk's end, or where only a forged cursor lands mid-entry:
    // on to the next chunk either way.
    const std::size_t size = offset < end ? bounded_entry_size(p, end - offset) : 0;
    if (size == 0) {
      position = (chunk + 1) * kChunkSize;
      continue;
    }
    const auto here = static_cast<std::uint32_t>(position);
    position += size;
    if (entry_dead(p)) return std::nullopt;  // marked dead: no lookup needed
    const std::string_view key = key_at(here);
    const KeyDirTable::Slot slot = find_slot(key, hash(key));
    if (slot && table_.position(slot) == here) return here;
    return std::nullopt;  // erased, or the key moved to a newer entry
  }
}

}  // namespace pyk
