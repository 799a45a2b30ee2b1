#include "core/keydir_snapshot.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cerrno>
#include <condition_variable>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <stop_token>
#include <thread>
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

// Checks each location of a snapshot as its chunks are scanned (inside a
// listed segment, past the file header, a whole record) and counts the
// live keys of each segment; a copy of the sizes of its own, for the reader
// thread.
class LocationCheck {
 public:
  explicit LocationCheck(std::span<const SegmentSize> sizes) : sizes_(sizes.begin(), sizes.end()) {}
  LocationCheck(const LocationCheck&) = delete;  // last_ points into sizes_

  bool operator()(const Location& l) {
    if (last_ == nullptr || last_->id != l.segment) {  // locations come in runs of one segment
      const auto it = std::lower_bound(sizes_.begin(), sizes_.end(), l.segment,
                                       [](const SegmentSize& s, std::uint32_t id) { return s.id < id; });
      if (it == sizes_.end() || it->id != l.segment) return false;
      last_ = &*it;
    }
    if (l.offset < format::kFileHeaderSize || l.size <= format::kRecordHeaderSize ||
        std::uint64_t{l.offset} + l.size > last_->size)
      return false;
    if (l.expiry != 0) {
      expiring_.push_back(l);
    } else {
      ++last_->live_keys;
      last_->live_bytes += l.size;
    }
    return true;
  }
  const std::vector<SegmentSize>& sizes() const { return sizes_; }
  std::vector<Location>& expiring() { return expiring_; }

 private:
  std::vector<SegmentSize> sizes_;
  std::vector<Location> expiring_;
  SegmentSize* last_ = nullptr;
};

// A chunk read off the snapshot, its bytes added to the running CRC, and
// scanned.
struct ReadChunk {
  KeyDir::Chunk memory;
  std::uint32_t used = 0;
  KeyDir::ChunkIndex index;
  std::string problem;       // set: the file is malformed here (the load fails)
  std::exception_ptr error;  // set: reading failed (rethrown by the loader)
};

// Reads the snapshot's chunks in order on a thread of its own, up to
// kAhead chunks ahead of the loader: copying the bytes into the arena,
// checking them and scanning their entries (locations checked, keys
// hashed) then overlap with inserting the chunks before into the table.
// Stops at the first problem or error, which it hands over last.
class ChunkReader {
 public:
  ChunkReader(const Segment& file, std::uint64_t file_size, std::uint64_t offset,
              std::uint64_t chunks, std::uint32_t crc, std::span<const SegmentSize> sizes)
      : file_(file), file_size_(file_size), offset_(offset), chunks_(chunks), crc_(crc),
        check_(sizes), thread_([this](std::stop_token stop) { run(stop); }) {}

  // The next chunk, once read.
  ReadChunk next() {
    std::unique_lock lock(mu_);
    changed_.wait(lock, [&] { return !queue_.empty(); });
    ReadChunk chunk = std::move(queue_.front());
    queue_.pop_front();
    changed_.notify_all();
    return chunk;
  }
  // Gives the vectors of an indexed chunk back for the next one to reuse
  // (fresh ones would be faulted in and zeroed for every chunk).
  void recycle(KeyDir::ChunkIndex&& index) {
    std::lock_guard lock(mu_);
    spare_.push_back(std::move(index));
  }
  // After the last chunk was taken: where the chunks end, and the CRC of
  // every byte before.
  std::uint64_t end() {
    thread_.join();
    return offset_;
  }
  std::uint32_t crc() const { return crc_; }
  // After end(): the live keys counted per segment, and the locations of
  // keys with an expiry.
  LocationCheck& check() { return check_; }

 private:
  static constexpr std::size_t kAhead = 2;

  void run(std::stop_token stop) {
    for (std::uint64_t i = 0; i < chunks_ && !stop.stop_requested(); ++i) {
      ReadChunk chunk = read(i);
      const bool last = chunk.error || !chunk.problem.empty();
      std::unique_lock lock(mu_);
      if (!changed_.wait(lock, stop, [&] { return queue_.size() < kAhead; })) return;
      queue_.push_back(std::move(chunk));
      changed_.notify_all();
      if (last) return;
    }
  }

  ReadChunk read(std::uint64_t i) {
    ReadChunk chunk;
    {
      std::lock_guard lock(mu_);
      if (!spare_.empty()) {
        chunk.index = std::move(spare_.back());
        spare_.pop_back();
      }
    }
    try {
      std::array<std::byte, 4> used_scratch;
      if (file_size_ - offset_ < 8) {
        chunk.problem = "it is too short (torn?)";
        return chunk;
      }
      const auto used_bytes = file_.read(offset_, 4, used_scratch);
      chunk.used = load_le<std::uint32_t>(used_bytes.data());
      crc_ = crc32c::extend(crc_, used_bytes);
      offset_ += 4;
      if (chunk.used > file_size_ - offset_ - 4) {
        chunk.problem = "it is too short (torn?)";
        return chunk;
      }
      if (chunk.used > KeyDir::kChunkSize) {
        chunk.problem = "chunk " + std::to_string(i) + " is malformed";
        return chunk;
      }
      chunk.memory = KeyDir::new_filled_chunk();
      const std::span<std::byte> into(chunk.memory.get(), chunk.used);
      const auto read = file_.read(offset_, chunk.used, into);  // straight into the arena where it can
      if (read.data() != into.data()) std::memcpy(into.data(), read.data(), chunk.used);
      crc_ = crc32c::extend(crc_, into);
      offset_ += chunk.used;
      if (!KeyDir::scan_chunk(into, i, check_, chunk.index))
        chunk.problem = "chunk " + std::to_string(i) + " is malformed";
    } catch (...) {
      chunk.error = std::current_exception();
    }
    return chunk;
  }

  const Segment& file_;
  const std::uint64_t file_size_;
  std::uint64_t offset_;  // the reader thread's until end() joined it
  const std::uint64_t chunks_;
  std::uint32_t crc_;     // likewise
  LocationCheck check_;   // likewise
  std::mutex mu_;
  std::condition_variable_any changed_;
  std::deque<ReadChunk> queue_;  // GUARDED_BY(mu_)
  std::vector<KeyDir::ChunkIndex> spare_;  // GUARDED_BY(mu_)
  std::jthread thread_;          // last: started once the rest is built, stopped and joined first
};

}  // namespace

void write(Directory& directory, const KeyDir& keydir, const Manifest& manifest,
           std::span<const SegmentSize> sizes) {
  write_unpublished(directory, keydir, manifest, sizes);
  publish(directory);
}

void write_unpublished(Directory& directory, const KeyDir& keydir, const Manifest& manifest,
                       std::span<const SegmentSize> sizes) {
  // The arena is saved as it is in memory.
  if constexpr (std::endian::native != std::endian::little) return;
  const std::string temp_name = filename::temp(std::string(filename::kKeydirSnapshot));
  remove(directory);  // never left describing an older store
  directory.remove(temp_name);  // a leftover of an interrupted write, if any
  if (!matches(manifest, sizes)) return;
  const std::string head = encode_head(manifest, sizes, keydir.size(), keydir.chunk_count());
  std::uint64_t total = head.size() + 4;
  for (std::size_t i = 0; i < keydir.chunk_count(); ++i) total += 4 + keydir.chunk(i).size();
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
}

void publish(Directory& directory) {
  const std::string final_name(filename::kKeydirSnapshot);
  const std::string temp_name = filename::temp(final_name);
  // write_unpublished leaves none when it has nothing to save (a big-endian host, say).
  if (directory.exists(temp_name)) directory.rename(temp_name, final_name);
}

void discard(Directory& directory) {
  directory.remove(filename::temp(std::string(filename::kKeydirSnapshot)));
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

  ChunkReader reader(*file, file_size, expected.size(), chunks, crc, sizes);
  for (std::uint64_t i = 0; i < chunks; ++i) {
    ReadChunk chunk = reader.next();
    if (chunk.error) std::rethrow_exception(chunk.error);
    if (!chunk.problem.empty()) return fail(chunk.problem);
    try {
      keydir.add_chunk(std::move(chunk.memory), chunk.used);
    } catch (const InvalidArgument&) {
      return fail("chunk " + std::to_string(i) + " is malformed");
    }
    if (!keydir.index_last_chunk(chunk.index)) return fail("chunk " + std::to_string(i) + " is malformed");
    reader.recycle(std::move(chunk.index));
  }
  const std::uint64_t offset = reader.end();
  crc = reader.crc();
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    sizes[i].live_keys = reader.check().sizes()[i].live_keys;
    sizes[i].live_bytes = reader.check().sizes()[i].live_bytes;
  }
  expiring = std::move(reader.check().expiring());
  if (file_size - offset != 4) return fail("its length does not match its contents");
  std::array<std::byte, 4> crc_scratch;
  if (load_le<std::uint32_t>(file->read(offset, 4, crc_scratch).data()) != crc)
    return fail("its checksum does not match (damaged or torn)");
  if (keydir.size() != keys) return fail("it holds another number of keys than it says");
  return true;
}

}  // namespace pyk::keydir_snapshot
