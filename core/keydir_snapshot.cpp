#include "core/keydir_snapshot.h"

#include <algorithm>
#include <bit>
#include <cerrno>
#include <memory>
#include <vector>

#include "core/crc32c.h"
#include "core/error.h"
#include "core/filename.h"
#include "core/format.h"

namespace pyk::keydir_snapshot {
namespace {

using format::load_le;
using format::store_le;

// Header offset of the live-key count (then the chunk count), format.h.
constexpr std::size_t kCountsAt = 24;

std::uint32_t manifest_flags(const ManifestEntry& e) {
  return (e.active ? format::kManifestActive : 0) | (e.unsynced ? format::kManifestUnsynced : 0);
}

// The header and segment table that `manifest` and `sizes` call for.
std::string encode_head(const Manifest& manifest, std::span<const SegmentSize> sizes,
                        std::uint64_t keys, std::uint64_t chunks) {
  std::string out(format::kSnapshotHeaderSize + sizes.size() * format::kSnapshotSegmentSize, '\0');
  auto* p = reinterpret_cast<std::byte*>(out.data());
  std::memcpy(p, format::kSnapshotMagic.data(), 8);
  store_le<std::uint32_t>(p + 8, format::kSnapshotVersion);
  store_le<std::uint32_t>(p + 12, static_cast<std::uint32_t>(sizes.size()));
  store_le<std::uint64_t>(p + 16, manifest.generation);
  store_le<std::uint64_t>(p + kCountsAt, keys);
  store_le<std::uint64_t>(p + kCountsAt + 8, chunks);
  p += format::kSnapshotHeaderSize;
  for (const SegmentSize& s : sizes) {
    const ManifestEntry* listed = manifest.find(s.id);
    store_le<std::uint32_t>(p, s.id);
    store_le<std::uint32_t>(p + 4, listed ? manifest_flags(*listed) : 0);
    store_le<std::uint64_t>(p + 8, listed ? listed->length : 0);
    store_le<std::uint64_t>(p + 16, s.size);
    p += format::kSnapshotSegmentSize;
  }
  return out;
}

// True if `sizes` lists exactly the manifest's segments.
bool matches(const Manifest& manifest, std::span<const SegmentSize> sizes) {
  return std::equal(manifest.segments.begin(), manifest.segments.end(), sizes.begin(), sizes.end(),
                    [](const ManifestEntry& e, const SegmentSize& s) { return e.id == s.id; });
}

std::span<const std::byte> bytes_of(const std::string& s) { return std::as_bytes(std::span(s)); }

}  // namespace

void write(Directory& directory, const KeyDir& keydir, const Manifest& manifest,
           std::span<const SegmentSize> sizes) {
  // The arena is saved as it is in memory.
  if constexpr (std::endian::native != std::endian::little) return;
  const std::string final_name(filename::kKeydirSnapshot);
  const std::string temp_name = filename::temp(final_name);
  directory.remove(final_name);  // never left describing an older store
  if (!matches(manifest, sizes)) return;
  const std::string head = encode_head(manifest, sizes, keydir.size(), keydir.chunk_count());
  std::uint64_t total = head.size() + 4;
  for (std::size_t i = 0; i < keydir.chunk_count(); ++i) total += 4 + keydir.chunk(i).size();
  directory.remove(temp_name);  // a leftover of an interrupted write, if any
  try {
    auto file = directory.create(temp_name, total);
    std::uint32_t crc = crc32c::extend(0, bytes_of(head));
    file->append(bytes_of(head));
    for (std::size_t i = 0; i < keydir.chunk_count(); ++i) {
      const std::span<const std::byte> chunk = keydir.chunk(i);
      std::array<std::byte, 4> used;
      store_le<std::uint32_t>(used.data(), static_cast<std::uint32_t>(chunk.size()));
      crc = crc32c::extend(crc32c::extend(crc, used), chunk);
      file->append(used);
      file->append(chunk);
    }
    std::array<std::byte, 4> trailer;
    store_le<std::uint32_t>(trailer.data(), crc);
    file->append(trailer);
    file->seal_unsynced();  // a torn snapshot fails its CRC and is ignored
  } catch (...) {
    try {
      directory.remove(temp_name);  // a full disk, say: leave nothing half-written
    } catch (...) {  // the original error is the one to report; open removes it
    }
    throw;
  }
  directory.rename(temp_name, final_name);
}

void remove(Directory& directory) { directory.remove(std::string(filename::kKeydirSnapshot)); }

bool load(Directory& directory, const Manifest& manifest, std::span<SegmentSize> sizes,
          KeyDir& keydir, std::vector<Location>& expiring, std::string& problem) {
  const std::string name(filename::kKeydirSnapshot);
  const auto fail = [&](std::string why) {
    keydir.clear();
    expiring.clear();
    for (SegmentSize& s : sizes) s.live_keys = s.live_bytes = 0;
    problem = std::move(why);
    return false;
  };
  if constexpr (std::endian::native != std::endian::little) return fail(std::string(kMissing));
  if (!directory.exists(name)) return fail(std::string(kMissing));
  if (!matches(manifest, sizes)) return fail("the store's segments are not the ones it describes");
  std::unique_ptr<Segment> file;
  try {
    file = directory.open(name, OpenMode::read_only);
  } catch (const IoError& e) {
    if (e.error_code() != ENOENT) throw;
    return fail(std::string(kMissing));  // removed since: a writer opening the store
  }
  const std::uint64_t file_size = file->size();
  // What the header and segment table must hold: exactly the store as it is.
  const std::string expected = encode_head(manifest, sizes, 0, 0);
  if (file_size < expected.size() + 4) return fail("it is too short (torn?)");
  std::vector<std::byte> head_scratch(expected.size());
  const auto head = file->read(0, expected.size(), head_scratch);
  const auto want = bytes_of(expected);
  // The key and chunk counts are the snapshot's own; all else must match.
  if (!std::equal(head.begin(), head.begin() + kCountsAt, want.begin()) ||
      !std::equal(head.begin() + format::kSnapshotHeaderSize, head.end(),
                  want.begin() + format::kSnapshotHeaderSize))
    return fail("it describes other segments or another manifest (stale)");
  const std::uint64_t keys = load_le<std::uint64_t>(head.data() + kCountsAt);
  const std::uint64_t chunks = load_le<std::uint64_t>(head.data() + kCountsAt + 8);
  std::uint32_t crc = crc32c::extend(0, head);
  // Checked before the table is sized for them.
  if (keys > UINT32_MAX || keys > file_size / KeyDir::kMinEntryBytes)
    return fail("it claims more keys than it can hold");
  keydir.reserve(keys);

  std::uint64_t offset = expected.size();
  SegmentSize* last = nullptr;  // locations come in runs of one segment
  const auto inside = [&](const Location& l) {
    if (last == nullptr || last->id != l.segment) {
      const auto it = std::lower_bound(sizes.begin(), sizes.end(), l.segment,
                                       [](const SegmentSize& s, std::uint32_t id) { return s.id < id; });
      if (it == sizes.end() || it->id != l.segment) return false;
      last = &*it;
    }
    if (l.offset < format::kFileHeaderSize || l.size <= format::kRecordHeaderSize ||
        std::uint64_t{l.offset} + l.size > last->size)
      return false;
    if (l.expiry != 0) {
      expiring.push_back(l);
    } else {
      ++last->live_keys;
      last->live_bytes += l.size;
    }
    return true;
  };
  for (std::uint64_t i = 0; i < chunks; ++i) {
    std::array<std::byte, 4> used_scratch;
    if (file_size - offset < 8) return fail("it is too short (torn?)");
    const auto used_bytes = file->read(offset, 4, used_scratch);
    const std::uint32_t used = load_le<std::uint32_t>(used_bytes.data());
    crc = crc32c::extend(crc, used_bytes);
    offset += 4;
    if (used > file_size - offset - 4) return fail("it is too short (torn?)");
    std::span<std::byte> chunk;
    try {
      chunk = keydir.add_chunk(used);
    } catch (const InvalidArgument&) {
      return fail("chunk " + std::to_string(i) + " is malformed");
    }
    const auto read = file->read(offset, used, chunk);  // straight into the arena where it can
    if (read.data() != chunk.data()) std::memcpy(chunk.data(), read.data(), used);
    crc = crc32c::extend(crc, chunk);
    offset += used;
    if (!keydir.index_last_chunk(inside)) return fail("chunk " + std::to_string(i) + " is malformed");
  }
  if (file_size - offset != 4) return fail("its length does not match its contents");
  std::array<std::byte, 4> crc_scratch;
  if (load_le<std::uint32_t>(file->read(offset, 4, crc_scratch).data()) != crc)
    return fail("its checksum does not match (damaged or torn)");
  if (keydir.size() != keys) return fail("it holds another number of keys than it says");
  return true;
}

}  // namespace pyk::keydir_snapshot
