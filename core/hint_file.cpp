#include "core/hint_file.h"

#include <algorithm>
#include <array>
#include <cerrno>
#include <vector>

#include "core/error.h"
#include "core/filename.h"
#include "core/file_header.h"
#include "core/log_reader.h"

namespace pyk::hint {
namespace {

struct Newest {
  std::uint64_t key_pos;  // into the key arena
  std::uint32_t key_size;
  format::HintEntry entry;  // key left empty until written
};

}  // namespace

void write(Directory& directory, std::uint32_t id, const Segment& segment) {
  // Collect every record, then keep the last one per key: sorting is simpler
  // and steadier than a hash map of millions of short strings.
  std::string keys;
  std::vector<Newest> records;
  // A sealed segment must be whole; a batch in it is complete.
  LogReader reader(segment, LogReader::Mode::strict);
  while (reader.next()) {
    for (const Record& r : reader.unit().records) {
      format::HintEntry e;
      e.type = r.header.type == format::RecordType::value ? format::HintType::value
                                                           : format::HintType::tombstone;
      e.record_size = static_cast<std::uint32_t>(r.size());
      e.offset = r.offset;
      e.timestamp = r.header.timestamp;
      e.expiry = r.header.expiry;
      records.push_back({keys.size(), r.header.key_size, e});
      keys.append(r.key);
    }
  }
  auto key_of = [&](const Newest& n) { return std::string_view(keys).substr(n.key_pos, n.key_size); };
  std::vector<std::uint32_t> order(records.size());
  for (std::uint32_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](std::uint32_t a, std::uint32_t b) {
    const int c = key_of(records[a]).compare(key_of(records[b]));
    return c != 0 ? c < 0 : a < b;
  });
  std::vector<std::uint32_t> newest;
  newest.reserve(order.size());
  for (std::size_t i = 0; i < order.size(); ++i) {
    const bool last_of_key =
        i + 1 == order.size() || key_of(records[order[i]]) != key_of(records[order[i + 1]]);
    if (last_of_key) newest.push_back(order[i]);
  }
  std::sort(newest.begin(), newest.end());  // file order: reads at open stay sequential

  std::string out;
  const auto header = format::encode_file_header(format::kHintMagic, id);
  out.append(reinterpret_cast<const char*>(header.data()), header.size());
  for (const std::uint32_t i : newest) {
    format::HintEntry e = records[i].entry;
    e.key = key_of(records[i]);
    format::encode_hint_entry(out, e);
  }
  format::HintEntry end;
  end.type = format::HintType::end;
  // The datafile size this hint describes: all of it. Zero-filled space past
  // the last record (strict reading allows nothing else there) reads as the
  // end of data, so the hint of such a file is not stale.
  end.offset = segment.size();
  end.timestamp = newest.size();
  format::encode_hint_entry(out, end);

  const std::string final_name = filename::hint(id);
  const std::string temp_name = filename::temp(final_name);
  directory.remove(temp_name);  // a leftover of an interrupted write, if any
  try {
    auto file = directory.create(temp_name, out.size());
    file->append(format::as_bytes(out));
    file->seal();  // syncs
  } catch (...) {
    // A full disk, say: leave no half-written hint taking space.
    try {
      directory.remove(temp_name);
    } catch (...) {  // the original error is the one to report; open removes it
    }
    throw;
  }
  directory.rename(temp_name, final_name);
  directory.sync();
}

const char* check(std::span<const std::byte> bytes, std::uint32_t id, std::uint64_t data_size,
                  std::uint64_t& count) {
  const FileHeaderCheck header = check_file_header(bytes, format::kHintMagic, id);
  if (!header.ok()) return describe(header.problem, format::kHintMagic);
  std::span<const std::byte> rest = bytes.subspan(format::kFileHeaderSize);
  format::HintEntry e;
  std::size_t size = 0;
  count = 0;
  for (;;) {
    if (rest.empty()) return "no end entry (truncated)";
    if (const char* reason = format::decode_hint_entry(rest, e, size)) return reason;
    rest = rest.subspan(size);
    if (e.type == format::HintType::end) break;
    if (e.offset < format::kFileHeaderSize || e.offset > data_size ||
        e.record_size > data_size - e.offset)
      return "hint entry points outside the datafile";
    ++count;
  }
  if (!rest.empty()) return "bytes after the end entry";
  if (e.timestamp != count) return "entry count in the end entry does not match";
  if (e.offset != data_size) return "stale: written for a datafile of another size";
  return nullptr;
}

std::uint64_t peek_entry_count(Directory& directory, std::uint32_t id) {
  const std::string name = filename::hint(id);
  if (!directory.exists(name)) return 0;
  std::unique_ptr<Segment> file;
  std::uint64_t size = 0;
  std::array<std::byte, format::kHintEntryHeaderSize> end{};
  try {
    file = directory.open(name, OpenMode::read_only);
    size = file->size();
    if (size < format::kFileHeaderSize + format::kHintEntryHeaderSize) return 0;
    file->read_into(size - end.size(), end);
  } catch (const IoError&) {
    return 0;  // only a sizing guess; HintFile::load reports the hint
  }
  // Bounded by what the file could hold, so a damaged count cannot make the
  // keydir reserve absurd amounts of memory.
  return std::min<std::uint64_t>(format::load_le<std::uint64_t>(end.data() + 24),
                                 size / format::kHintEntryHeaderSize);
}

std::optional<HintFile> HintFile::load(Directory& directory, std::uint32_t id,
                                       std::uint64_t data_size, std::string& problem) {
  const std::string name = filename::hint(id);
  std::unique_ptr<Segment> file;
  HintFile out;
  // A hint is only an optimisation: one that cannot be read (no permission,
  // an I/O error) is reported like a damaged one, never fatal.
  try {
    file = directory.open(name, OpenMode::read_only);
    const std::uint64_t size = file->size();
    PinnedBytes pinned = file->pin(0, size);
    out.keep_alive_ = std::move(pinned.keep_alive);
    out.bytes_ = pinned.bytes;
  } catch (const IoError& e) {
    problem = e.error_code() == ENOENT ? std::string(kMissing)
                                       : "hint " + name + " unreadable (" + e.what() + ")";
    return std::nullopt;
  }
  if (const char* reason = check(out.bytes_, id, data_size, out.count_)) {
    problem = std::string("hint ") + file->describe() + " ignored: " + reason;
    return std::nullopt;
  }
  return out;
}

}  // namespace pyk::hint
