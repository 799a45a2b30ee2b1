#include "core/hint_file.h"

#include <algorithm>
#include <array>
#include <cerrno>
#include <vector>

#include "core/error.h"
#include "core/filename.h"
#include "core/file_header.h"
#include "core/log_reader.h"
#include "core/replace_file.h"

namespace pyk::hint {
namespace {

// Hint bytes collect here and go to the file in pieces of about this size.
constexpr std::size_t kWriteChunk = 1 << 20;
// HintCursor reads windows of at least this many bytes.
constexpr std::size_t kReadChunk = 1 << 20;

}  // namespace

void write(Directory& directory, std::uint32_t id, const Segment& segment,
           const SupersededFn& superseded, const DurableFn& durable) {
  // Entries in file order, streamed to the file a chunk at a time: memory
  // stays at one chunk however big the segment (keeping exactly each key's
  // newest record would need every key of the segment in memory at once).
  replace_file(directory, filename::hint(id), 0, [&](Segment& file) {
    std::string chunk, kept;
    struct Placed {  // a value entry of the chunk: [start, end), its key last
      std::size_t start, end, key_size;
      std::uint64_t offset;
    };
    std::vector<Placed> values;
    std::vector<HintQuery> queries;
    std::vector<bool> drop;
    std::uint64_t count = 0;
    auto flush = [&] {
      if (superseded && !values.empty()) {
        queries.clear();  // views into the chunk, now that it no longer grows
        for (const Placed& v : values)
          queries.push_back({std::string_view(chunk).substr(v.end - v.key_size, v.key_size), v.offset});
        drop.assign(queries.size(), false);
        superseded(queries, drop);
        // Copy the chunk without the dropped entries.
        kept.clear();
        std::size_t from = 0;
        for (std::size_t i = 0; i < values.size(); ++i) {
          if (!drop[i]) continue;
          kept.append(chunk, from, values[i].start - from);
          from = values[i].end;
          --count;
        }
        kept.append(chunk, from);
        chunk.swap(kept);
      }
      file.append(format::as_bytes(chunk));
      chunk.clear();
      values.clear();
    };
    const auto header = format::encode_file_header(format::kHintMagic, id);
    chunk.append(reinterpret_cast<const char*>(header.data()), header.size());
    // A sealed segment must be whole; a batch in it is complete.
    LogReader reader(segment, LogReader::Mode::strict);
    while (reader.next()) {
      for (const Record& r : reader.unit().records) {
        format::HintEntry e;
        const bool value = r.header.type == format::RecordType::value;
        e.type = value ? format::HintType::value : format::HintType::tombstone;
        e.record_size = static_cast<std::uint32_t>(r.size());
        e.offset = r.offset;
        e.expiry = r.header.expiry;
        e.key = r.key;
        const std::size_t start = chunk.size();
        format::encode_hint_entry(chunk, e);
        if (value && superseded) values.push_back({start, chunk.size(), e.key.size(), e.offset});
        ++count;
      }
      if (chunk.size() >= kWriteChunk) flush();
    }
    flush();
    format::HintEntry end;
    end.type = format::HintType::end;
    // The datafile size this hint describes: all of it. Zero-filled space past
    // the last record (strict reading allows nothing else there) reads as the
    // end of data, so the hint of such a file is not stale.
    end.offset = segment.size();
    end.count = count;
    format::encode_hint_entry(chunk, end);
    file.append(format::as_bytes(chunk));
    file.seal_unsynced();  // see write()'s comment in hint_file.h
    if (durable) durable();
  });
}

HintCursor::HintCursor(const Segment& file) : file_(file), end_(file.size()) {}

bool HintCursor::window(std::size_t n) {
  if (window_.size() - at_ >= n) return true;
  const std::uint64_t from = base_ + at_;
  if (end_ - from < n) return false;
  const auto length = static_cast<std::size_t>(
      std::min<std::uint64_t>(end_ - from, std::max(n, kReadChunk)));
  if (scratch_.size() < length) scratch_.resize(length);
  window_ = file_.read(from, length, scratch_);
  base_ = from;
  at_ = 0;
  return true;
}

const char* HintCursor::next(format::HintEntry& entry, bool verify_crc) {
  const std::uint64_t left = end_ - (base_ + at_);
  if (left == 0) return kNoMore;
  // First the longest header an entry can have (or the rest of the file):
  // enough for decode to tell the entry's length; then, if need be, all of it.
  std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(left, format::kHintMaxHeaderSize));
  std::size_t size = 0;
  for (;;) {
    window(want);  // true: want <= left
    const std::span<const std::byte> bytes = window_.subspan(at_);
    const char* reason = format::decode_hint_entry(bytes, entry, size, verify_crc);
    if (reason == nullptr) break;
    if (reason != format::kHintEntryRunsPastEnd) return reason;
    if (size == 0) return "truncated hint entry";  // the file ends inside its header
    if (size > left) return reason;
    want = size;  // > bytes.size(): the next decode has it all
  }
  at_ += size;
  return nullptr;
}

namespace {

// The rules a hint's entries must follow, however its bytes are read:
// next(e) yields the next entry (HintCursor::kNoMore past the last byte),
// at_end() says whether nothing follows the end entry.
template <class Next, class AtEnd>
const char* check_entries(Next&& next, AtEnd&& at_end, std::uint64_t data_size,
                          std::uint64_t& count) {
  format::HintEntry e;
  count = 0;
  for (;;) {
    const char* reason = next(e);
    if (reason == HintCursor::kNoMore) return "no end entry (truncated)";
    if (reason != nullptr) return reason;
    if (e.type == format::HintType::end) break;
    if (e.offset < format::kFileHeaderSize || e.offset > data_size ||
        e.record_size > data_size - e.offset)
      return "hint entry points outside the datafile";
    ++count;
  }
  if (!at_end()) return "bytes after the end entry";
  if (e.count != count) return "entry count in the end entry does not match";
  if (e.offset != data_size) return "stale: written for a datafile of another size";
  return nullptr;
}

}  // namespace

const char* check(std::span<const std::byte> bytes, std::uint32_t id, std::uint64_t data_size,
                  std::uint64_t& count) {
  const FileHeaderCheck header = check_file_header(bytes, format::kHintMagic, id);
  if (!header.ok()) return describe(header.problem, format::kHintMagic);
  std::span<const std::byte> rest = bytes.subspan(format::kFileHeaderSize);
  return check_entries(
      [&](format::HintEntry& e) -> const char* {
        if (rest.empty()) return HintCursor::kNoMore;
        std::size_t size = 0;
        if (const char* reason = format::decode_hint_entry(rest, e, size)) return reason;
        rest = rest.subspan(size);
        return nullptr;
      },
      [&] { return rest.empty(); }, data_size, count);
}

std::uint64_t peek_entry_count(Directory& directory, std::uint32_t id) {
  const std::string name = filename::hint(id);
  if (!directory.exists(name)) return 0;
  std::unique_ptr<Segment> file;
  std::uint64_t size = 0;
  std::array<std::byte, format::kHintEndSize> end{};
  try {
    file = directory.open(name, OpenMode::read_only);
    size = file->size();
    if (size < format::kFileHeaderSize + format::kHintEndSize) return 0;
    file->read_into(size - end.size(), end);
  } catch (const IoError&) {
    return 0;  // only a sizing guess; HintFile::load reports the hint
  }
  format::HintEntry e;
  std::size_t entry_size = 0;
  if (format::decode_hint_entry(end, e, entry_size) != nullptr || e.type != format::HintType::end) return 0;
  // Bounded by what the file could hold, so a damaged count cannot make the
  // keydir reserve absurd amounts of memory.
  return std::min<std::uint64_t>(e.count, size / format::kHintMinEntrySize);
}

const char* check(const Segment& file, std::uint32_t id, std::uint64_t data_size,
                  std::uint64_t& count) {
  const FileHeaderCheck header = check_file_header(file, format::kHintMagic, id);
  if (!header.ok()) return describe(header.problem, format::kHintMagic);
  HintCursor cursor(file);
  cursor.skip_header();
  return check_entries([&](format::HintEntry& e) { return cursor.next(e, /*verify_crc=*/true); },
                       [&] { return cursor.at_end(); }, data_size, count);
}

std::optional<HintFile> HintFile::load(Directory& directory, std::uint32_t id,
                                       std::uint64_t data_size, std::string& problem) {
  const std::string name = filename::hint(id);
  HintFile out;
  // A hint is only an optimisation: one that cannot be read (no permission,
  // an I/O error) is reported like a damaged one, never fatal.
  try {
    out.file_ = directory.open(name, OpenMode::read_only);
    // Checked whole before any entry is applied, reading it in windows (not
    // all at once: a hint of a big segment is tens of MiB). for_each reads
    // it again; the second pass comes from the page cache.
    if (const char* reason = check(*out.file_, id, data_size, out.count_)) {
      problem = std::string("hint ") + out.file_->describe() + " ignored: " + reason;
      return std::nullopt;
    }
  } catch (const IoError& e) {
    problem = e.error_code() == ENOENT ? std::string(kMissing)
                                       : "hint " + name + " unreadable (" + e.what() + ")";
    return std::nullopt;
  }
  return out;
}

}  // namespace pyk::hint
