// The on-disk format of pyk datafiles: the one place it is defined.
// README.md ("Record format") describes the same layout in prose.
//
// A datafile is a FileHeader followed by records. All integers little-endian.
//
// FileHeader (32 bytes)
//   0  char[8] magic        "pyk-data" (datafile) or "pyk-hint" (hint file)
//   8  u32     version      kFormatVersion (datafile), kHintFormatVersion (hint file)
//  12  u32     merge rank   0 for a datafile written by put/erase; for a merge
//                           output, the replay rank of the newest segment merged
//                           into it (0 in hint files). See "Replay order" below.
//  16  u64     segment id
//  24  u32     reserved     0
//  28  u32     crc32c       of bytes [0, 28)
//
// Record (32-byte header, then key, then value)
//   0  u32 crc32c     of bytes [4, 32 + key_size + value_size)
//   4  u8  type       RecordType; 0 is never written, so zero-filled space
//                     (a zeroed tail after a power cut, or space an older mmap
//                     backend preallocated) reads as end of data
//   5  u8  reserved   0
//   6  u16 reserved   0
//   8  u32 key_size   1 .. kMaxKeySize
//  12  u32 value_size 0 .. kMaxValueSize
//  16  u64 timestamp  write time, microseconds since the Unix epoch (a put's
//                     to the clock tick: only the tools read it)
//  24  u64 expiry     microseconds since the Unix epoch; 0 = never expires
//
// Replay order: open replays datafiles by (rank, id), where rank is the merge
// rank if set, else the segment id. Merge outputs get fresh ids above every
// existing one but keep the rank of their newest input, so they replay after
// their inputs (they hold the same or newer records) and before any segment
// written since the merge began (which may hold newer records). Both hold in
// the window where inputs and outputs coexist after a crash.
//
// Hint file: a FileHeader with magic "pyk-hint" and the segment id of the
// datafile it describes, then entries, then one end entry. Written to a .tmp
// name and renamed into place, so a hint file is complete or absent.
// HintEntry, one per value or tombstone record (varints: LEB128, the low 7
// bits first). 28 bytes for a 16-byte key, a 148-byte record and an offset
// from 2 to 256 MiB (version 1 took 56):
//   0  u32 crc32c       of the entry's bytes after it
//   4  u8  type         HintType; bit 7 (kHintHasExpiry): an expiry follows
//   5  varint key_size     1 .. kMaxKeySize
//      varint record_size  the whole record in the datafile
//      varint offset       the record's offset in the datafile
//      [u64 expiry]        as in the record, only if bit 7 of type is set
//      key
// End entry (kHintEndSize bytes, always last: the file's tail says how many
// entries it holds without reading them):
//   0  u32 crc32c       of bytes [4, 24)
//   4  u8  type         HintType::end
//   5  u8[3] reserved   0
//   8  u64 data_size    the datafile size the hint describes (a mismatch = stale)
//  16  u64 count        entries before it
// Version 1 (a 40-byte header per entry, with the record's write time) is
// no longer read: open ignores such a hint as it does a damaged one (scans
// the datafile, then writes a new hint).
//
// Manifest (file MANIFEST): the segments a store must have, so that a lost,
// truncated or stray datafile is told apart from a gap a merge left. Replaced
// whole, like leveldb's CURRENT: written to MANIFEST.tmp, synced, renamed,
// the directory synced. A datafile is listed only once its directory entry
// is durable, and unlisted before it is removed.
//   0  char[8] magic        "pyk-mani"
//   8  u32     version      kFormatVersion
//  12  u32     entry count
//  16  u64     generation   one more on every rewrite (a reader can tell a change)
//  24  entries, kManifestEntrySize bytes each, ascending segment id:
//        0 u32 segment id
//        4 u32 flags        bit 0: the active segment (appended to)
//                           bit 1: sealed by a rotation but not yet synced
//                           (the sync runs in the background), or a spare:
//                           made ahead, header only, for a rotation to take
//                           without a sync. Like the active one it may end
//                           in a torn tail
//        8 u64 length       sealed: the exact file size; active or unsynced:
//                           a minimum (its header; recovery never cuts it shorter)
//  end u32 crc32c           of every byte before it
//
// Keydir snapshot (file KEYDIR): the keydir as a clean close left it, so that
// open loads it instead of replaying every hint file (core/keydir_snapshot.h).
// Written by close to KEYDIR.tmp while it seals the last segment, renamed
// once every segment is synced and the manifest it names is written
// (neither synced: a torn or stale one is detected and ignored). Open uses it only if
// the manifest's generation and listing and every datafile's size are what
// it records; otherwise, or if it does not check, the hints are replayed.
//   0  char[8] magic        "pyk-kdir"
//   8  u32     version      kSnapshotVersion (the arena's entry layout too)
//  12  u32     segment count
//  16  u64     manifest generation
//  24  u64     live keys
//  32  u64     arena chunk count
//  40  segments, kSnapshotSegmentSize bytes each, ascending id:
//        0 u32 segment id
//        4 u32 flags        the manifest entry's flags (bit 0 active, bit 1 unsynced)
//        8 u64 manifest length
//       16 u64 datafile size
//      then the table (core/keydir_table.h), as it was in memory:
//        0 u64 hash seed    the keydir's (core/keydir.cpp hash_bytes)
//        8 u64 line count   0: not saved (larger than the arena:
//                           core/keydir_snapshot.cpp); open inserts the keys
//       16 u64 inserts left before the table is full
//       24 the lines, 64 bytes each
//      then the chunks, in order: u32 used bytes (at most one 2 MiB chunk), then those
//      bytes of the keydir's arena (entry layout in core/keydir.h)
//  end u32 crc32c           of every byte before it
#pragma once

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>

namespace pyk::format {

inline constexpr std::uint32_t kFormatVersion = 1;
inline constexpr std::uint32_t kHintFormatVersion = 2;
inline constexpr std::size_t kFileHeaderSize = 32;
inline constexpr std::size_t kRecordHeaderSize = 32;
inline constexpr std::string_view kDataMagic = "pyk-data";
inline constexpr std::string_view kHintMagic = "pyk-hint";
inline constexpr std::string_view kManifestMagic = "pyk-mani";
inline constexpr std::size_t kManifestHeaderSize = 24;
inline constexpr std::size_t kManifestEntrySize = 16;
inline constexpr std::uint32_t kManifestActive = 1;    // entry flag
inline constexpr std::uint32_t kManifestUnsynced = 2;  // entry flag
inline constexpr std::string_view kSnapshotMagic = "pyk-kdir";
// 2: the arena entry holds the segment id as a varint. 3: the table follows
// the chunks. Also bumped when the table's layout or the keydir's hash changes.
inline constexpr std::uint32_t kSnapshotVersion = 3;
inline constexpr std::size_t kSnapshotHeaderSize = 40;
inline constexpr std::size_t kSnapshotSegmentSize = 24;

// Hard limits of the format; Options can set lower ones.
inline constexpr std::uint32_t kMaxKeySize = 64 * 1024;
inline constexpr std::uint32_t kMaxValueSize = 1024u * 1024 * 1024;

enum class RecordType : std::uint8_t {
  none = 0,       // zero-filled space: end of data
  value = 1,      // key -> value
  tombstone = 2,  // key was erased (value_size is 0)
  batch = 3,      // WriteBatch header: value = u32 record count, u32 0, u64 byte length
};

struct FileHeader {
  std::string_view magic;  // kDataMagic or kHintMagic
  std::uint64_t segment_id = 0;
  std::uint32_t merge_rank = 0;  // 0 = not a merge output
};

struct RecordHeader {
  std::uint32_t crc = 0;
  RecordType type = RecordType::none;
  std::uint32_t key_size = 0;
  std::uint32_t value_size = 0;
  std::uint64_t timestamp = 0;
  std::uint64_t expiry = 0;

  std::uint64_t record_size() const {
    return kRecordHeaderSize + std::uint64_t{key_size} + value_size;
  }
};

inline constexpr std::size_t kHintEndSize = 24;
inline constexpr std::uint8_t kHintHasExpiry = 0x80;
// The longest and shortest entries but for their keys: a reader that holds
// kHintMaxHeaderSize bytes of an entry (or the rest of the file) knows its length.
inline constexpr std::size_t kHintMaxHeaderSize = 4 + 1 + 5 + 5 + 10 + 8;
inline constexpr std::size_t kHintMinEntrySize = 4 + 1 + 1 + 1 + 1 + 1;

enum class HintType : std::uint8_t {
  value = 1,      // a value record of the segment
  tombstone = 2,  // a tombstone record of the segment
  end = 3,        // last entry of a complete hint file
};

struct HintEntry {
  HintType type = HintType::value;
  std::uint32_t record_size = 0;
  std::uint64_t offset = 0;  // in the end entry: the datafile size
  std::uint64_t expiry = 0;
  std::uint64_t count = 0;  // in the end entry: the entries before it
  std::string_view key;
};

// Appends one encoded hint entry to `out`.
void encode_hint_entry(std::string& out, const HintEntry& entry);
// What decode_hint_entry returns when `bytes` ends inside the entry; `size`
// then holds the bytes the entry needs, when its header says (else 0).
// Callers compare the pointer: an array, since an inline variable is one
// object in every translation unit, where a pointer constant may hold each
// unit's own copy of the literal (clang's ASan builds keep them apart).
inline constexpr char kHintEntryRunsPastEnd[] = "hint entry runs past the end";
// Decodes the entry at the start of `bytes`, checking its bounds and (if
// `verify_crc`) its CRC. Returns a reason on failure (nullptr when valid);
// `out.key` points into `bytes`, `size` gets the entry's encoded length.
const char* decode_hint_entry(std::span<const std::byte> bytes, HintEntry& out,
                              std::size_t& size, bool verify_crc = true);

// --- little-endian helpers -------------------------------------------------
template <class T>
inline void store_le(std::byte* out, T v) {
  if constexpr (std::endian::native == std::endian::little) {
    std::memcpy(out, &v, sizeof v);  // one store instead of sizeof(T)
  } else {
    for (std::size_t i = 0; i < sizeof(T); ++i) out[i] = std::byte(v >> (8 * i));
  }
}
template <class T>
inline T load_le(const std::byte* in) {
  T v = 0;
  if constexpr (std::endian::native == std::endian::little) {
    std::memcpy(&v, in, sizeof v);
  } else {
    for (std::size_t i = 0; i < sizeof(T); ++i) v |= T(std::to_integer<unsigned>(in[i])) << (8 * i);
  }
  return v;
}

inline std::span<const std::byte> as_bytes(std::string_view s) {
  return std::as_bytes(std::span(s.data(), s.size()));
}

// --- file header ------------------------------------------------------------
std::array<std::byte, kFileHeaderSize> encode_file_header(std::string_view magic,
                                                          std::uint64_t segment_id,
                                                          std::uint32_t merge_rank = 0);

enum class FileHeaderStatus { ok, too_short, bad_magic, bad_version, bad_crc };
FileHeaderStatus decode_file_header(std::span<const std::byte> bytes, FileHeader& out);
const char* describe(FileHeaderStatus status);

// --- records ----------------------------------------------------------------
// Appends one encoded record to `out`.
void encode_record(std::string& out, RecordType type, std::string_view key,
                   std::string_view value, std::uint64_t timestamp, std::uint64_t expiry);

// Decodes the fixed header; checks nothing.
RecordHeader decode_record_header(const std::byte* header);

// True if the 32 header bytes are all zero (end of data in preallocated space).
bool is_zero_header(const std::byte* header);

// Checks the header fields that can be checked without the body: a known
// type, sizes within the hard limits, no value on a tombstone. Returns a
// reason on failure, nullptr when plausible.
const char* check_record_header(const RecordHeader& header);

// CRC of a whole encoded record (header bytes 4..31, key, value).
std::uint32_t record_crc(std::span<const std::byte> record);

// --- batch header -------------------------------------------------------------
// The value of a RecordType::batch record: u32 record count, u32 0, u64 byte
// length of the records that follow it.
inline constexpr std::size_t kBatchValueSize = 16;

struct BatchHeader {
  std::uint32_t count = 0;   // records in the batch
  std::uint64_t length = 0;  // their bytes, starting right after the header record
};

// Appends a whole batch-header record to `out`.
void encode_batch_header(std::string& out, const BatchHeader& batch, std::uint64_t timestamp);
// Decodes a batch header's value. REQUIRES: value.size() == kBatchValueSize
// (check_record_header guarantees it for a record read back).
BatchHeader decode_batch_header(std::string_view value);

}  // namespace pyk::format
