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
#include <optional>
#include <stop_token>
#include <thread>
#include <vector>

#include "core/crc32c.h"
#include "core/error.h"
#include "core/filename.h"
#include "core/format.h"
#include "core/replace_file.h"

namespace pyk::keydir_snapshot {
namespace {

using format::load_le;
using format::store_le;

// Header offset of the live-key count (then the chunk count), format.h.
constexpr std::size_t kCountsAt = 24;
// The table section before the chunks (format.h): u64 seed, u64 line count,
// u64 inserts left, then the lines.
constexpr std::size_t kTableHeadSize = 24;
constexpr std::size_t kTableLineSize = 64;

// The table is saved, and open copies it back at memory speed where
// inserting every key again took most of its time. At 10M keys it is 61 MB
// that close writes at the pace of the disk's write-back (close after a fill
// 323 -> 588 ms, after an overwrite and delete10 545-562 -> 696-717 ms), for
// an open of 456 -> 323 ms and 802-808 -> 419 ms. (Up to 32 MiB only, as it
// was, left the 10M reopen over its 0.5 s goal.) A table larger than the
// arena is not saved: it was sized well ahead of its keys
// (Options::expected_keys), and open indexes the chunks into a table sized
// for them instead.
bool table_worth_saving(const KeyDir& keydir) {
  return keydir.table().memory_bytes() <= std::max<std::size_t>(keydir.chunk_count(), 1) * KeyDir::kChunkSize;
}

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

// The table section (format.h): the saved table, if any (no lines: the
// loader inserts the chunks' keys).
struct ReadTable {
  std::uint64_t seed = 0;
  std::uint64_t available = 0;
  std::optional<KeyDirTable> table;
  std::string problem;       // set: the file is malformed here (the load fails)
  std::exception_ptr error;  // set: reading failed (rethrown by the loader)
};

// A chunk read off the snapshot, its bytes added to the running CRC, and
// scanned: its locations checked, its live entries' positions listed (and
// their keys' hashes, for a snapshot without a table).
struct ReadChunk {
  KeyDir::Chunk memory;
  std::uint32_t used = 0;
  std::vector<std::uint32_t> live;
  std::vector<std::uint64_t> hashes;
  std::size_t garbage_bytes = 0;
  bool malformed = false;  // an entry or location does not check (reported after the CRC)
  std::string problem;       // set: the file is malformed here (the load fails)
  std::exception_ptr error;  // set: reading failed (rethrown by the loader)
};

// Reads the snapshot on a thread of its own: the table section, then the
// chunks in order, up to kAhead chunks ahead of the loader. Faulting in the
// memory, copying the bytes into it, taking their CRC and scanning the
// chunks then overlap with the loader's work on what came before. Stops at
// the first problem or error, which it hands over last.
class SnapshotReader {
 public:
  // `keydir` hashes the keys when the snapshot has no table (REQUIRES: its
  // seed does not change meanwhile).
  SnapshotReader(const Segment& file, std::uint64_t file_size, std::uint64_t offset,
                 std::uint64_t chunks, std::uint32_t crc, std::span<const SegmentSize> sizes,
                 const KeyDir& keydir)
      : file_(file), file_size_(file_size), offset_(offset), chunks_(chunks), crc_(crc),
        check_(sizes), keydir_(keydir), thread_([this](std::stop_token stop) { run(stop); }) {}

  // The table section, once read. REQUIRES: called first, once.
  ReadTable table() {
    std::unique_lock lock(mu_);
    changed_.wait(lock, [&] { return table_ready_; });
    return std::move(table_);
  }
  // The next chunk, once read.
  ReadChunk next() {
    std::unique_lock lock(mu_);
    changed_.wait(lock, [&] { return !queue_.empty(); });
    ReadChunk chunk = std::move(queue_.front());
    queue_.pop_front();
    changed_.notify_all();
    return chunk;
  }
  // Gives a checked chunk's lists back for a later one to reuse (fresh ones
  // would be faulted in and zeroed for every chunk).
  void recycle(ReadChunk&& chunk) {
    std::lock_guard lock(mu_);
    spare_.push_back({std::move(chunk.live), std::move(chunk.hashes)});
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
  // Chunks read ahead of the loader, at most.
  static constexpr std::size_t kAhead = 4;

  void run(std::stop_token stop) {
    ReadTable table = read_table();
    const bool table_failed = table.error || !table.problem.empty();
    hash_keys_ = !table.table;
    {
      std::lock_guard lock(mu_);
      table_ = std::move(table);
      table_ready_ = true;
      changed_.notify_all();
    }
    if (table_failed) return;
    for (std::uint64_t i = 0; i < chunks_ && !stop.stop_requested(); ++i) {
      ReadChunk chunk = read(i);
      const bool last = chunk.error || !chunk.problem.empty();
      std::unique_lock lock(mu_);
      // Bounded: each waiting chunk holds its lists of positions and hashes.
      if (!changed_.wait(lock, stop, [&] { return queue_.size() < kAhead; })) return;
      queue_.push_back(std::move(chunk));
      changed_.notify_all();
      if (last) return;
    }
  }

  // Reads `out.size()` bytes at the current offset into `out`, adding them
  // to the CRC; false if the file (less its trailer) ends first.
  bool read_on(std::span<std::byte> out) {
    if (file_size_ - offset_ < 4 || out.size() > file_size_ - offset_ - 4) return false;
    // A copy, not a view: on mmap a view would be the mapping's first touch
    // of every page (backends/page_warmer.h), where a pread is not.
    const SegmentRead read{offset_, out};
    file_.read_many({&read, 1});
    crc_ = crc32c::extend(crc_, out);
    offset_ += out.size();
    return true;
  }

  ReadTable read_table() {
    ReadTable out;
    try {
      std::array<std::byte, kTableHeadSize> head;
      if (!read_on(head)) {
        out.problem = "it is too short (torn?)";
        return out;
      }
      out.seed = load_le<std::uint64_t>(head.data());
      const std::uint64_t groups = load_le<std::uint64_t>(head.data() + 8);
      out.available = load_le<std::uint64_t>(head.data() + 16);
      if (groups == 0) return out;  // saved without its lines
      if (groups > (file_size_ - offset_) / kTableLineSize) {  // before the memory is taken
        out.problem = "its table is longer than the file (torn?)";
        return out;
      }
      out.table = KeyDirTable::for_image(static_cast<std::size_t>(groups));
      if (!read_on(out.table->writable_image())) out.problem = "it is too short (torn?)";
    } catch (...) {
      out.error = std::current_exception();
    }
    return out;
  }

  ReadChunk read(std::uint64_t i) {
    ReadChunk chunk;
    {
      std::lock_guard lock(mu_);
      if (!spare_.empty()) {
        chunk.live = std::move(spare_.back().first);
        chunk.hashes = std::move(spare_.back().second);
        spare_.pop_back();
      }
    }
    chunk.live.clear();
    chunk.hashes.clear();
    try {
      std::array<std::byte, 4> used;
      if (!read_on(used)) {
        chunk.problem = "it is too short (torn?)";
        return chunk;
      }
      chunk.used = load_le<std::uint32_t>(used.data());
      if (chunk.used > KeyDir::kChunkSize) {
        chunk.problem = "chunk " + std::to_string(i) + " is malformed";
        return chunk;
      }
      if (chunk.used > file_size_ - offset_) {  // before the memory is taken
        chunk.problem = "it is too short (torn?)";
        return chunk;
      }
      chunk.memory = KeyDir::new_filled_chunk();
      const std::span<std::byte> into(chunk.memory.get(), chunk.used);
      if (!read_on(into)) {
        chunk.problem = "it is too short (torn?)";
        return chunk;
      }
      chunk.malformed = !KeyDir::scan_chunk(
          into, static_cast<std::size_t>(i), check_,
          [&](std::uint32_t position) { chunk.live.push_back(position); }, chunk.garbage_bytes);
      if (hash_keys_ && !chunk.malformed) {
        chunk.hashes.reserve(chunk.live.size());
        for (const std::uint32_t position : chunk.live)
          chunk.hashes.push_back(keydir_.hash(KeyDir::key_in_chunk(into, position)));
      }
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
  bool hash_keys_ = false;  // the reader thread's
  const KeyDir& keydir_;
  std::mutex mu_;
  std::condition_variable_any changed_;
  ReadTable table_;                        // GUARDED_BY(mu_)
  bool table_ready_ = false;               // GUARDED_BY(mu_)
  std::deque<ReadChunk> queue_;            // GUARDED_BY(mu_)
  std::vector<std::pair<std::vector<std::uint32_t>, std::vector<std::uint64_t>>> spare_;  // GUARDED_BY(mu_)
  std::jthread thread_;  // last: started once the rest is built, stopped and joined first
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
  remove(directory);  // never left describing an older store
  // Nor an older temp file, which publish() would rename into place: it
  // goes before the store may turn out not to match (write_temp_file would
  // remove it only when writing).
  directory.remove(filename::temp(std::string(filename::kKeydirSnapshot)));
  if (!matches(manifest, sizes)) return;
  const std::string head = encode_head(manifest, sizes, keydir.size(), keydir.chunk_count());
  const KeyDirTable& table = keydir.table();
  const std::span<const std::byte> lines =
      table_worth_saving(keydir) ? table.image() : std::span<const std::byte>{};
  std::array<std::byte, kTableHeadSize> table_head;
  store_le<std::uint64_t>(table_head.data(), keydir.seed());
  store_le<std::uint64_t>(table_head.data() + 8, lines.size() / kTableLineSize);
  store_le<std::uint64_t>(table_head.data() + 16, table.available());
  std::uint64_t total = head.size() + table_head.size() + lines.size() + 4;
  for (std::size_t i = 0; i < keydir.chunk_count(); ++i) total += 4 + keydir.chunk(i).size();
  write_temp_file(directory, std::string(filename::kKeydirSnapshot), total, [&](Segment& file) {
    std::uint32_t crc = crc32c::extend(crc32c::extend(crc32c::extend(0, bytes_of(head)), table_head), lines);
    file.append(bytes_of(head));
    file.append(table_head);
    file.append(lines);
    for (std::size_t i = 0; i < keydir.chunk_count(); ++i) {
      const std::span<const std::byte> chunk = keydir.chunk(i);
      std::array<std::byte, 4> used;
      store_le<std::uint32_t>(used.data(), static_cast<std::uint32_t>(chunk.size()));
      crc = crc32c::extend(crc32c::extend(crc, used), chunk);
      file.append(used);
      file.append(chunk);
    }
    std::array<std::byte, 4> trailer;
    store_le<std::uint32_t>(trailer.data(), crc);
    file.append(trailer);
    file.seal_unsynced();  // a torn snapshot fails its CRC and is ignored
  });
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
  // One from another pyk (an older layout) is ignored, and the next close
  // writes this version's.
  if (std::equal(head.begin(), head.begin() + 8, want.begin()) &&
      load_le<std::uint32_t>(head.data() + 8) != format::kSnapshotVersion)
    return fail("it has format version " + std::to_string(load_le<std::uint32_t>(head.data() + 8)) +
                ", this pyk reads " + std::to_string(format::kSnapshotVersion));
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
  // Checked before memory is taken for them: every chunk but the last is
  // nearly full (KeyDir::kFullChunkBytes), so the file bounds their number.
  if (chunks > 1 + file_size / KeyDir::kFullChunkBytes ||
      chunks * KeyDir::kChunkSize > std::uint64_t{UINT32_MAX} + 1)
    return fail("it claims more chunks than it can hold");

  // The reader thread reads the table, then reads and scans the chunks
  // (entries, locations), while this one marks the table's positions and
  // matches each chunk's live entries against them, or, without a table,
  // inserts them. A problem is reported after the CRC is checked, so that
  // damage is told apart from a forgery that checks.
  SnapshotReader reader(*file, file_size, expected.size(), chunks, crc, sizes, keydir);
  std::string problem_found;
  const auto found = [&](std::string why) {
    if (problem_found.empty()) problem_found = std::move(why);
  };
  ReadTable table = reader.table();
  if (table.error) std::rethrow_exception(table.error);
  if (!table.problem.empty()) return fail(table.problem);
  KeyDir::TableCheck table_check;
  if (table.table) {
    table.table->adopt_image(static_cast<std::size_t>(std::min<std::uint64_t>(table.available, SIZE_MAX)));
    if (table.table->size() != keys) found("it holds another number of keys than it says");
    else table_check.mark(*table.table, static_cast<std::size_t>(chunks));
  } else {
    keydir.reserve(static_cast<std::size_t>(keys));  // each chunk's keys are inserted as it comes
  }
  std::size_t live = 0;
  for (std::uint64_t i = 0; i < chunks; ++i) {
    ReadChunk chunk = reader.next();
    if (chunk.error) std::rethrow_exception(chunk.error);
    if (!chunk.problem.empty()) return fail(chunk.problem);
    live += chunk.live.size();
    if (chunk.malformed) found("chunk " + std::to_string(i) + " is malformed");
    if (!problem_found.empty()) continue;
    if (table.table && !std::all_of(chunk.live.begin(), chunk.live.end(),
                                    [&](std::uint32_t p) { return table_check.holds(p); }))
      found("its table does not match its entries");
    try {
      keydir.add_chunk(std::move(chunk.memory), chunk.used, chunk.garbage_bytes);
    } catch (const InvalidArgument&) {
      found("chunk " + std::to_string(i) + " is malformed");
      continue;
    }
    if (!table.table && !keydir.index_entries(chunk.live, chunk.hashes))
      found("it holds a key twice, or more keys than it says");
    reader.recycle(std::move(chunk));
  }
  const std::uint64_t offset = reader.end();
  if (file_size - offset != 4) return fail("its length does not match its contents");
  std::array<std::byte, 4> crc_scratch;
  if (load_le<std::uint32_t>(file->read(offset, 4, crc_scratch).data()) != reader.crc())
    return fail("its checksum does not match (damaged or torn)");
  if (!problem_found.empty()) return fail(problem_found);
  if (live != keys) return fail("it holds another number of keys than it says");
  if (table.table) keydir.adopt_table(std::move(*table.table), table.seed);
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    sizes[i].live_keys = reader.check().sizes()[i].live_keys;
    sizes[i].live_bytes = reader.check().sizes()[i].live_bytes;
  }
  expiring = std::move(reader.check().expiring());
  return true;
}

}  // namespace pyk::keydir_snapshot
