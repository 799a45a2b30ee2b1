// KeyDir: the in-memory index of a Bitcask, mapping every live key to the
// location of its newest record. All keys live in RAM, so bytes per key
// matter: keys and locations are packed into an arena of 2 MiB chunks, byte
// by byte (no alignment), and the hash table (core/keydir_table.h) holds a
// one-byte tag and a 4-byte arena position per key. The arena's live
// entries are exactly the table's, so the table is rebuilt from a walk over
// the arena (growing, compacting, loading a snapshot), with the table lines
// prefetched ahead. Memory comes from core/keydir_memory.h. See README
// "Memory per key".
//
// Not thread-safe: Store guards it with its keydir mutex.
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "core/keydir_memory.h"
#include "core/keydir_table.h"

namespace pyk {

// Where a key's newest record lies.
struct Location {
  std::uint32_t segment = 0;  // segment id
  std::uint32_t offset = 0;   // record start in the segment
  std::uint32_t size = 0;     // whole record (header, key, value)
  std::uint64_t expiry = 0;   // microseconds since the epoch, 0 = never
  bool operator==(const Location&) const = default;
};

class KeyDir {
 public:
  KeyDir();
  KeyDir(const KeyDir&) = delete;
  KeyDir& operator=(const KeyDir&) = delete;

  // Points `key` at `location`; returns the location it replaced, if any.
  std::optional<Location> put(std::string_view key, const Location& location) {
    return put(key, hash(key), location);
  }
  // The same, `key_hash` being hash(key) (a put hashes its key once for the
  // prefetches below too).
  std::optional<Location> put(std::string_view key, std::uint64_t key_hash, const Location& location);
  // Removes `key`; returns its location if it was present.
  std::optional<Location> erase(std::string_view key);
  std::optional<Location> find(std::string_view key) const;
  // Starts loading the table line a put, erase or find of the key with
  // hash `key_hash` (hash()) reads, so that its cache miss overlaps the
  // caller's work until then. Only a hint, but it reads the table's size and
  // address: the same locking as find.
  void prefetch(std::uint64_t key_hash) const { table_.prefetch(key_hash); }
  // Starts loading the arena entry whose key that put, erase or find
  // compares first, if a tag matches: an overwrite's second miss. Reads the
  // table line, so it pays off once prefetch() has loaded it.
  void prefetch_entry(std::uint64_t key_hash) const {
    if (const auto position = table_.first_candidate(key_hash)) __builtin_prefetch(at(*position));
  }
  // find for each of `keys` into `out` (the same size), in windows: the
  // window's table lines are prefetched, then its candidate arena entries,
  // before any key is compared, so that a batch's cache misses overlap
  // instead of coming one after the other.
  void find_many(std::span<const std::string_view> keys, std::span<std::optional<Location>> out) const;

  std::size_t size() const { return table_.size(); }
  // Removes every entry and frees the arena.
  void clear();
  // Makes room for `keys` entries without rehashing (open knows the count from hint files).
  void reserve(std::size_t keys);
  // Bytes held: arena chunks plus the hash table's lines.
  std::size_t memory_bytes() const;

  // Calls fn(key, location) for every entry, in arena order: the order the
  // entries were written (put order, but for a put that changed whether the
  // key expires; after a compaction, the order they were moved in). The
  // arena is read front to back with no table lookup (erased and moved
  // entries carry a dead mark), so a full pass is sequential in memory, and
  // records of a store filled in order come out in file order.
  // REQUIRES: fn does not modify the KeyDir.
  template <class Fn>
  void for_each(Fn&& fn) const {
    for (std::size_t chunk = 0; chunk < chunks_.size(); ++chunk) {
      const std::byte* base = chunks_[chunk].get();
      const std::size_t end = chunk + 1 < chunks_.size() ? chunk_ends_[chunk] : chunk_used_;
      for (std::size_t offset = 0; offset < end;) {
        const std::byte* p = base + offset;
        std::size_t bytes;
        const Location location = entry_location(p, &bytes);
        if (!entry_dead(p)) fn(entry_key(p), location);
        offset += bytes;
      }
    }
  }

  // The keydir snapshot (core/keydir_snapshot.h) saves the arena as it is,
  // chunk by chunk (dead entries included), and the table's lines with the
  // hash seed they were placed by; a keydir is rebuilt from those as they
  // were (positions included), or from the chunks alone, the table then
  // indexed anew (index_entries).
  std::size_t chunk_count() const { return chunks_.size(); }
  // The smallest arena entry: a 1-byte key, no expiry, 1-byte varints.
  static constexpr std::size_t kMinEntryBytes = 1 + 1 + 4 + 1 + 1;
  std::span<const std::byte> chunk(std::size_t i) const {
    return {chunks_[i].get(), i + 1 < chunks_.size() ? chunk_ends_[i] : chunk_used_};
  }
  // One huge page (core/keydir_memory.h).
  static constexpr std::size_t kChunkSize = 2u << 20;
  // The largest arena entry (a 64 KiB key, an expiry, 5-byte varints), and
  // so the fewest bytes of a chunk that a next chunk follows.
  static constexpr std::size_t kMaxEntryBytes = 1 + 2 + 65536 + 4 + 5 + 5 + 8;
  static constexpr std::size_t kFullChunkBytes = kChunkSize - kMaxEntryBytes;
  struct ChunkFree {
    void operator()(std::byte* p) const noexcept { keydir_memory::deallocate(p, kChunkSize); }
  };
  using Chunk = std::unique_ptr<std::byte[], ChunkFree>;
  // Memory for a chunk that the caller fills whole (loading a snapshot, on
  // any thread) before add_chunk: its pages are faulted in together.
  static Chunk new_filled_chunk() { return new_chunk(true); }
  // Appends `chunk`, whose first `used` bytes the caller filled and checked
  // with scan_chunk (`garbage_bytes` of them in dead entries); then the
  // table gets its live entries from index_entries, or all at once from
  // adopt_table. Throws InvalidArgument if used > kChunkSize or the arena
  // is full.
  void add_chunk(Chunk chunk, std::size_t used, std::size_t garbage_bytes);
  // Parses the entries of `bytes`, to be the arena's chunk number `chunk`:
  // fn(position) for each live one, after accept(location); adds the bytes
  // of dead ones to `garbage_bytes`. Touches no KeyDir, so a snapshot's
  // loader checks chunks as its reader thread reads the next ones. False if
  // an entry is malformed or accept(location) is false.
  template <class Accept, class Live>
  static bool scan_chunk(std::span<const std::byte> bytes, std::size_t chunk, Accept&& accept,
                         Live&& live, std::size_t& garbage_bytes) {
    for (std::size_t offset = 0; offset < bytes.size();) {
      const std::byte* entry = bytes.data() + offset;
      const std::size_t size = bounded_entry_size(entry, bytes.size() - offset);
      if (size == 0) return false;
      if (entry_dead(entry)) {
        garbage_bytes += size;
      } else {
        if (!accept(entry_location(entry))) return false;
        live(static_cast<std::uint32_t>(chunk * kChunkSize + offset));
      }
      offset += size;
    }
    return true;
  }
  // Inserts the live entries at `positions` (of chunks added), whose keys
  // have `hashes` (hash()), into the table, their table lines prefetched
  // ahead. False if one's key is in the table already or the table is full
  // (reserve() it first); the keydir must then be cleared.
  bool index_entries(std::span<const std::uint32_t> positions, std::span<const std::uint64_t> hashes);
  // The key of the entry at arena `position` of chunk `bytes` (scan_chunk's).
  static std::string_view key_in_chunk(std::span<const std::byte> bytes, std::uint32_t position) {
    return entry_key(bytes.data() + position % kChunkSize);
  }
  // The key's hash under this keydir's seed (drawn per process, so that
  // keys chosen to collide cannot be prepared in advance; a loaded table
  // brings its own). Thread-safe against anything but adopt_table.
  std::uint64_t hash(std::string_view key) const;
  // The table's lines and what rebuilds them (KeyDirTable::image), and the
  // seed its hashes were taken with: a table holds only under its own seed.
  const KeyDirTable& table() const { return table_; }
  std::uint64_t seed() const { return seed_; }
  // Checks a saved table against the chunks it indexes without a lookup:
  // mark() notes each of the table's positions inside an arena of `chunks`
  // chunks (others are left out), then holds() must be true for the live
  // entries' positions of every chunk (scan_chunk's fn). A table holding
  // as many keys as the chunks have live entries then holds exactly those
  // (a position held twice or past the arena leaves one unmarked), and no
  // position it holds reads anything else.
  class TableCheck {
   public:
    void mark(const KeyDirTable& table, std::size_t chunks);
    // REQUIRES: position inside the arena mark() was given.
    bool holds(std::uint32_t position) const {
      return (bits_.get()[position / 64] >> (position % 64) & 1) != 0;
    }

   private:
    struct Free {
      std::size_t bytes;
      void operator()(std::uint64_t* p) const noexcept { keydir_memory::deallocate(p, bytes); }
    };
    // Bit p: the table holds position p. In the keydir's memory: huge
    // pages, for mark()'s random accesses.
    std::unique_ptr<std::uint64_t[], Free> bits_;
    std::size_t words_ = 0;
  };
  // After the chunks are added: takes `table`, a KeyDirTable::for_image
  // filled from table() and adopted, placed under `seed`.
  // REQUIRES: a TableCheck passed it against those chunks.
  void adopt_table(KeyDirTable table, std::uint64_t seed);

  // A resumable walk in arena order (Store::scan). The cursor is the arena
  // position to go on from, tagged with the layout generation: an entry only
  // ever moves forward (a put that changes the entry's length, by adding or
  // dropping an expiry or a longer varint, writes a fresh entry at the
  // end), so walking forward meets every entry that stays put; a compaction
  // or clear() moves everything, starts a new generation, and a cursor of an
  // older one starts over. Calls fn(key, location) for up to `max_live`
  // entries, passing over at most `max_slots` arena entries (dead ones
  // included), and returns the cursor to resume from, 0 once the walk reached
  // the end. Cursor 0 starts a walk. Any cursor is safe: a forged one walks
  // from wherever it points, reporting only entries the table holds.
  // REQUIRES: fn does not modify the KeyDir.
  template <class Fn>
  std::uint64_t walk(std::uint64_t cursor, std::size_t max_live, std::size_t max_slots,
                     Fn&& fn) const {
    std::uint64_t position = cursor >> 32 == generation_ ? cursor & UINT32_MAX : 0;
    for (std::size_t slots = 0; slots < max_slots && max_live > 0; ++slots) {
      const auto live = next_entry(position);  // moves position past the entry
      if (position == kWalkEnd) return 0;
      if (live) {
        fn(key_at(*live), location_at(*live));
        --max_live;
      }
    }
    return std::uint64_t{generation_} << 32 | position;
  }

 private:
  // The table rebuilt from the arena, with room for `keys` keys.
  void rebuild_table(std::size_t keys);
  // fn(position, hash) for each live entry, a chunk at a time, with the
  // lines of `table` those hashes land in prefetched ahead; stops at the
  // first false fn returns, and returns it.
  template <class Fn>
  bool each_live_chunk(KeyDirTable& table, Fn&& fn) const;
  // The table's slot for `key`, if it holds the key.
  KeyDirTable::Slot find_slot(std::string_view key, std::uint64_t key_hash) const {
    return table_.find(key_hash, [&](std::uint32_t position) { return key_at(position) == key; });
  }

  // Arena entry layout, packed at any byte position (positions count bytes):
  //   u8 head: bits 0-5 the key size (1-63; 0: a u16 key size follows, in
  //            which 0 means 65536), bit 6 has_expiry, bit 7 dead (the table
  //            no longer holds it: erased, or moved to a fresh entry);
  //   key bytes; u32 offset; the segment id and then the record size as
  //   LEB128 varints (1-5 bytes each); u64 expiry if has_expiry.
  // A 16-byte key without expiry takes 1 + 16 + 4 + 1 + 2 bytes (segment
  // ids below 128, records of 128 bytes to 16 KiB).
  static constexpr std::uint8_t kDead = 0x80, kHasExpiry = 0x40, kKeySizeMask = 0x3f;
  // A fresh chunk; `whole` for one filled at once (loading a snapshot),
  // whose pages are faulted in together.
  static Chunk new_chunk(bool whole) {
    return Chunk(static_cast<std::byte*>(keydir_memory::allocate(kChunkSize, whole)));
  }
  static std::size_t varint_size(std::uint32_t v) {
    std::size_t n = 1;
    for (; v >= 0x80; v >>= 7) ++n;
    return n;
  }
  static std::size_t entry_size(std::size_t key_size, const Location& l) {
    return 1 + (key_size > kKeySizeMask ? 2 : 0) + key_size + 4 + varint_size(l.segment) +
           varint_size(l.size) + (l.expiry != 0 ? 8 : 0);
  }
  static std::uint32_t read_varint(const std::byte*& q) {
    std::uint32_t v = 0;
    for (int shift = 0;; shift += 7) {
      const auto b = static_cast<std::uint8_t>(*q++);
      v |= std::uint32_t{b & 0x7fu} << shift;
      if (b < 0x80 || shift >= 28) return v;
    }
  }
  static std::uint8_t head(const std::byte* p) { return static_cast<std::uint8_t>(p[0]); }
  static bool entry_dead(const std::byte* p) { return (head(p) & kDead) != 0; }
  static std::string_view entry_key(const std::byte* p) {
    std::size_t key_size = head(p) & kKeySizeMask;
    if (key_size != 0) return {reinterpret_cast<const char*>(p + 1), key_size};
    std::uint16_t long_size;
    std::memcpy(&long_size, p + 1, sizeof long_size);
    return {reinterpret_cast<const char*>(p + 3), long_size == 0 ? 65536u : long_size};
  }
  // The location of the entry at `p`, and the entry's size in bytes.
  static Location entry_location(const std::byte* p, std::size_t* entry_bytes = nullptr) {
    const std::string_view key = entry_key(p);
    const std::byte* q = reinterpret_cast<const std::byte*>(key.data() + key.size());
    Location l;
    std::memcpy(&l.offset, q, 4);
    q += 4;
    l.segment = read_varint(q);
    l.size = read_varint(q);
    if ((head(p) & kHasExpiry) != 0) {
      std::memcpy(&l.expiry, q, 8);
      q += 8;
    }
    if (entry_bytes != nullptr) *entry_bytes = static_cast<std::size_t>(q - p);
    return l;
  }
  // The size of the entry at `p` if it fits in the `avail` bytes there
  // (else 0), reading nothing past them: walk's guard against forged cursors.
  static std::size_t bounded_entry_size(const std::byte* p, std::size_t avail);

  const std::byte* at(std::uint32_t position) const;
  std::byte* at(std::uint32_t position);
  std::string_view key_at(std::uint32_t position) const;
  Location location_at(std::uint32_t position) const;
  std::uint32_t allocate(std::size_t bytes);
  std::uint32_t write_entry(std::string_view key, const Location& location);
  static void encode_entry(std::byte* p, std::string_view key, const Location& location);
  void compact_if_wasteful();
  // walk's step: the entry at `position` if the table holds it, moving
  // `position` past it (to kWalkEnd after the last one). Entries are found
  // by their sizes; a chunk's unused tail is skipped.
  static constexpr std::uint64_t kWalkEnd = UINT64_MAX;
  std::optional<std::uint32_t> next_entry(std::uint64_t& position) const;

  std::vector<Chunk> chunks_;
  std::size_t chunk_used_ = kChunkSize;  // bytes used in the last chunk
  std::size_t garbage_bytes_ = 0;        // arena bytes of erased or moved entries
  std::vector<std::size_t> chunk_ends_;  // bytes used in each full chunk (walk skips the rest)
  std::uint32_t generation_ = 1;         // bumped by each compaction (walk cursors); never 0
  std::uint64_t seed_;
  KeyDirTable table_;
};

}  // namespace pyk
