// KeyDir: the in-memory index of a Bitcask, mapping every live key to the
// location of its newest record. All keys live in RAM, so bytes per key
// matter: keys and locations are packed into an arena of 1 MiB chunks and
// the hash table holds only 4-byte arena positions (hashing reads the key
// back from the arena). See README "Memory per key".
//
// Not thread-safe: Store guards it with its keydir mutex.
#pragma once

#include <boost/unordered/unordered_flat_set.hpp>
#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

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
  std::optional<Location> put(std::string_view key, const Location& location);
  // Removes `key`; returns its location if it was present.
  std::optional<Location> erase(std::string_view key);
  std::optional<Location> find(std::string_view key) const;

  std::size_t size() const { return table_.size(); }
  // Removes every entry and frees the arena.
  void clear();
  // Makes room for `keys` entries without rehashing (open knows the count from hint files).
  void reserve(std::size_t keys) { table_.reserve(keys); }
  // Bytes held: arena chunks plus the hash table's slots and metadata.
  std::size_t memory_bytes() const;

  // Calls fn(key, location) for every entry, in no particular order.
  // REQUIRES: fn does not modify the KeyDir.
  template <class Fn>
  void for_each(Fn&& fn) const {
    for (const std::uint32_t position : table_) fn(key_at(position), location_at(position));
  }

 private:
  struct Hash {
    using is_transparent = void;
    using is_avalanching = void;  // a strong hash: the table need not mix it again
    const KeyDir* owner;
    std::size_t operator()(std::uint32_t position) const;
    std::size_t operator()(std::string_view key) const;
  };
  struct Equal {
    using is_transparent = void;
    const KeyDir* owner;
    // Compares keys: put inserts a fresh position and relies on the table to
    // find an existing entry of the same key.
    bool operator()(std::uint32_t a, std::uint32_t b) const;
    bool operator()(std::string_view key, std::uint32_t position) const;
    bool operator()(std::uint32_t position, std::string_view key) const;
  };

  // Arena entry layout, at a position aligned to kAlign:
  //   u32 segment, u32 offset, u32 size, u16 key size (0 means 65536), u8 has_expiry,
  //   u8 unused, key bytes, then u64 expiry if has_expiry.
  static constexpr std::size_t kAlign = 8;
  static constexpr std::size_t kEntryHeader = 16;
  static constexpr std::size_t kChunkSize = 1 << 20;
  static std::size_t entry_size(std::size_t key_size, bool has_expiry);

  const std::byte* at(std::uint32_t position) const;
  std::byte* at(std::uint32_t position);
  std::string_view key_at(std::uint32_t position) const;
  Location location_at(std::uint32_t position) const;
  std::uint32_t allocate(std::size_t bytes);
  std::uint32_t write_entry(std::string_view key, const Location& location);
  void compact_if_wasteful();

  std::vector<std::unique_ptr<std::byte[]>> chunks_;
  std::size_t chunk_used_ = kChunkSize;  // bytes used in the last chunk
  std::size_t garbage_bytes_ = 0;        // arena bytes of erased or moved entries
  boost::unordered_flat_set<std::uint32_t, Hash, Equal> table_;
};

}  // namespace pyk
