// Hint files: a compact index of one sealed datafile that open() replays
// instead of scanning the datafile (Bitcask's .hint files). Layout in format.h.
//
// A hint is only ever an optimisation: one that is missing, stale or damaged
// is reported by the caller and the datafile is scanned instead.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/directory.h"
#include "core/format.h"

namespace pyk::hint {

// A value entry about to be written: its key and record offset.
struct HintQuery {
  std::string_view key;
  std::uint64_t offset;
};
// Sets superseded[i] for each value that a later record of the same key in
// the same segment replaces (the store answers from its keydir); such
// entries are left out. It may leave any flag false: an entry too many only
// costs the replay a step. Called a chunk of entries at a time.
using SupersededFn =
    std::function<void(std::span<const HintQuery>, std::vector<bool>& superseded)>;

// Called once a hint is written, before it takes its name: returns once the
// datafile is durable (close syncs it on another thread meanwhile), or
// throws, and then the hint is not published.
using DurableFn = std::function<void()>;

// Scans datafile `segment` (segment `id`, sealed: nothing may be appended
// meanwhile) and writes filename::hint(id): a temp name, rename, directory
// sync. The hint's bytes are not synced: HintFile::load checks every entry
// and the end entry, so one a power cut tore is rejected (and the datafile
// scanned), never trusted. Its name appears only once the datafile is
// durable: already, or once `durable` returns.
// Lists the segment's records in file order, tombstones included (they
// shadow older segments at replay), but for the values `superseded` flags,
// so that replaying the hint gives what scanning the datafile gives.
// Without `superseded`, every record. Memory: one chunk of about 1 MiB,
// whatever the segment's size.
// Throws CorruptionError if the datafile is damaged, IoError.
void write(Directory& directory, std::uint32_t id, const Segment& segment,
           const SupersededFn& superseded = {}, const DurableFn& durable = {});

// Checks a whole hint file image for segment `id` whose datafile is
// `data_size` bytes: header, every entry's CRC and bounds, the end entry and
// its counts. nullptr if valid (`count` gets the entry count), else the reason.
const char* check(std::span<const std::byte> bytes, std::uint32_t id, std::uint64_t data_size,
                  std::uint64_t& count);

// The entry count a hint file's end entry claims, unchecked (0 if there is
// no hint): enough to size the keydir once before replaying every hint.
std::uint64_t peek_entry_count(Directory& directory, std::uint32_t id);

// The problem HintFile::load reports for a missing hint file.
inline constexpr std::string_view kMissing = "no hint file";

// Reads the entries of a hint file in windows of about 1 MiB (zero-copy
// where the backend allows), never the whole file at once.
class HintCursor {
 public:
  // next() returns this at the end of the file (not an error by itself).
  // Compared by pointer: an array, one object everywhere (see format.h's
  // kHintEntryRunsPastEnd).
  static constexpr char kNoMore[] = "end of hint file";

  // `file` must outlive the cursor and not change meanwhile.
  explicit HintCursor(const Segment& file);
  // REQUIRES: before the first next().
  void skip_header() { base_ = std::min<std::uint64_t>(end_, format::kFileHeaderSize); }
  // Decodes the next entry into `entry` (its key points into the cursor,
  // valid until the next call): nullptr, kNoMore, or the reason it is bad.
  const char* next(format::HintEntry& entry, bool verify_crc);
  bool at_end() const { return base_ + at_ == end_; }

 private:
  // Makes n bytes from the current position readable in window_; false if
  // the file ends first.
  bool window(std::size_t n);
  const Segment& file_;
  const std::uint64_t end_;
  std::uint64_t base_ = 0;  // file offset of window_[0]
  std::size_t at_ = 0;      // position in window_
  std::span<const std::byte> window_;
  std::vector<std::byte> scratch_;
};

// The same check over a hint file read in windows (what HintFile::load runs).
const char* check(const Segment& file, std::uint32_t id, std::uint64_t data_size,
                  std::uint64_t& count);

// A hint file, already checked whole; its entries are read again (in
// windows) by for_each.
class HintFile {
 public:
  // Opens and checks filename::hint(id). nullopt with `problem` set when it is
  // missing, unreadable, damaged or stale; never throws for the hint itself.
  static std::optional<HintFile> load(Directory& directory, std::uint32_t id,
                                      std::uint64_t data_size, std::string& problem);

  std::uint64_t entry_count() const { return count_; }

  // fn(const format::HintEntry&) for every entry but the end entry, in file
  // order. Keys are valid during the call only. Throws IoError if the file
  // that load() read whole cannot be read again.
  template <class Fn>
  void for_each(Fn&& fn) const {
    HintCursor cursor(*file_);
    cursor.skip_header();
    format::HintEntry entry;
    // load() checked every entry (CRC, sizes, type), so only the fields are
    // read here; decoding keeps its bounds checks, so that bytes changed
    // underneath (a file another process rewrote) cannot read out of range.
    for (std::uint64_t i = 0; i < count_; ++i) {
      if (cursor.next(entry, /*verify_crc=*/false) != nullptr) break;
      fn(entry);
    }
  }

 private:
  HintFile() = default;
  std::shared_ptr<const Segment> file_;
  std::uint64_t count_ = 0;
};

}  // namespace pyk::hint
