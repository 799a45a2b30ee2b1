// Hint files: a compact index of one sealed datafile that open() replays
// instead of scanning the datafile (Bitcask's .hint files). Layout in format.h.
//
// A hint is only ever an optimisation: one that is missing, stale or damaged
// is reported by the caller and the datafile is scanned instead.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "core/directory.h"
#include "core/format.h"

namespace pyk::hint {

// Scans datafile `segment` (segment `id`, sealed: nothing may be appended
// meanwhile) and writes filename::hint(id) durably: a temp name, sync,
// rename, directory sync. Lists each key's newest record in the segment,
// tombstones included (they shadow older segments at replay), in file order.
// Throws CorruptionError if the datafile is damaged, IoError.
void write(Directory& directory, std::uint32_t id, const Segment& segment);

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

// A hint file held in memory, already checked.
class HintFile {
 public:
  // Loads and checks filename::hint(id). nullopt with `problem` set when it is
  // missing, unreadable, damaged or stale; never throws for the hint itself.
  static std::optional<HintFile> load(Directory& directory, std::uint32_t id,
                                      std::uint64_t data_size, std::string& problem);

  std::uint64_t entry_count() const { return count_; }

  // fn(const format::HintEntry&) for every entry but the end entry, in file
  // order. Keys point into this object.
  template <class Fn>
  void for_each(Fn&& fn) const {
    // load() checked every entry (CRC, sizes, type), so only the fields are
    // read here; the bounds check stays, so that bytes changed underneath
    // (a mapping of a file another process rewrote) cannot read out of range.
    const std::byte* p = bytes_.data() + format::kFileHeaderSize;
    const std::byte* const end = bytes_.data() + bytes_.size();
    format::HintEntry entry;
    for (std::uint64_t i = 0; i < count_; ++i) {
      if (end - p < static_cast<std::ptrdiff_t>(format::kHintEntryHeaderSize)) break;
      const std::uint32_t key_size = format::load_le<std::uint32_t>(p + 8);
      if (static_cast<std::uint64_t>(end - p) - format::kHintEntryHeaderSize < key_size) break;
      entry.type = static_cast<format::HintType>(std::to_integer<std::uint8_t>(p[4]));
      entry.record_size = format::load_le<std::uint32_t>(p + 12);
      entry.offset = format::load_le<std::uint64_t>(p + 16);
      entry.timestamp = format::load_le<std::uint64_t>(p + 24);
      entry.expiry = format::load_le<std::uint64_t>(p + 32);
      entry.key = std::string_view(reinterpret_cast<const char*>(p + format::kHintEntryHeaderSize),
                                   key_size);
      fn(entry);
      p += format::kHintEntryHeaderSize + key_size;
    }
  }

 private:
  HintFile() = default;
  std::shared_ptr<const void> keep_alive_;  // owns bytes_: a pinned mapping or a copy
  std::span<const std::byte> bytes_;
  std::uint64_t count_ = 0;
};

}  // namespace pyk::hint
