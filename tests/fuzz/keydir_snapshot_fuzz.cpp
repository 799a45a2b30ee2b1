// libFuzzer target: Store::open over a store whose KEYDIR (the keydir
// snapshot) is a good one edited by the input. The store (memory backend:
// several hinted segments, overwrites, erases, keys with a TTL) is built once;
// each input is opened read-only, which changes no file.
//
// Input: one flags byte (bit 0: recompute the snapshot's CRC after editing,
// so that the checks behind it are reached; bit 1: cut the snapshot to the
// length in the next two bytes), then edits of three bytes each: u16
// offset (mod the length), u8 xored into the byte there.
//
// Checks: open always succeeds (a bad snapshot is ignored, never fatal).
// A snapshot that differs from the good one with its CRC left alone is never
// used. Whenever no snapshot is used, or the good one is, every key reads
// back exactly as a replay of the hints gives it. A CRC-valid forgery that
// is used must not crash anything: reads give a value or a CorruptionError.
#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "backends/memory_directory.h"
#include "core/crc32c.h"
#include "core/error.h"
#include "core/filename.h"
#include "core/format.h"
#include "core/store.h"
#include "tests/fuzz/fuzz_support.h"

using namespace pyk;

namespace {

constexpr std::uint64_t kNow = 1'767'225'600'000'000;  // 2026-01-01, the store's clock
const std::string kSnapshot(filename::kKeydirSnapshot);

std::string read_all(Directory& d, const std::string& name) {
  auto s = d.open(name, OpenMode::read_only);
  std::string out(s->size(), '\0');
  s->read_into(0, std::as_writable_bytes(std::span(out)));
  return out;
}

void replace_file(Directory& d, const std::string& name, const std::string& bytes) {
  d.remove(name);
  auto s = d.create(name, bytes.size() + 1);
  s->append(format::as_bytes(bytes));
  s->seal();
}

struct Base {
  std::shared_ptr<MemoryDirectory> directory = std::make_shared<MemoryDirectory>("snapshot-fuzz");
  Options options;
  std::string good;
  std::map<std::string, std::string> reference;

  Base() {
    options.directory = directory;
    options.max_segment_size = 4096;  // sealed with a hint at close from 2 KiB
    options.merge_dead_fraction = 0;
    options.merge_dead_bytes = 0;
    options.logger = [](std::string_view) {};
    options.clock = [] { return std::chrono::system_clock::time_point(std::chrono::microseconds(kNow)); };
    {
      Store db = Store::open("snapshot-fuzz", options);
      for (int i = 0; i < 120; ++i) db.put("key" + std::to_string(i % 70), std::string(10 + i % 40, char('a' + i % 26)));
      for (int i = 0; i < 70; i += 9) db.erase("key" + std::to_string(i));
      for (int i = 0; i < 10; ++i) db.put("ttl" + std::to_string(i), "expiring", std::chrono::hours(1));
      // Close writes a snapshot only when it seals the active segment (2 KiB or more here).
      const auto active_bytes = [&] {
        for (const SegmentStats& s : db.stats().segments)
          if (s.active) return s.bytes;
        return std::uint64_t{0};
      };
      for (int i = 0; active_bytes() < 2600; ++i) db.put("pad" + std::to_string(i), std::string(60, 'p'));
    }
    good = read_all(*directory, kSnapshot);
    Options replay = options;
    replay.read_only = true;
    replay.keydir_snapshot = false;
    Store db = Store::open("snapshot-fuzz", replay);
    db.for_each([&](std::string_view k, std::string_view v) { reference[std::string(k)] = v; });
    FUZZ_CHECK(!reference.empty());
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static Base base;
  FUZZ_CHECK(!base.good.empty());
  if (size < 1) return 0;
  const std::uint8_t flags = data[0];
  std::size_t at = 1;
  std::string snapshot = base.good;
  if ((flags & 2) != 0 && size >= 3) {
    snapshot.resize(std::min<std::size_t>(snapshot.size(), data[1] | std::size_t{data[2]} << 8));
    at = 3;
  }
  for (; at + 3 <= size && !snapshot.empty(); at += 3) {
    const std::size_t offset = (data[at] | std::size_t{data[at + 1]} << 8) % snapshot.size();
    snapshot[offset] = static_cast<char>(snapshot[offset] ^ data[at + 2]);
  }
  const bool crc_fixed = (flags & 1) != 0 && snapshot.size() >= 4;
  if (crc_fixed) {
    const std::uint32_t crc = crc32c::value(format::as_bytes(std::string_view(snapshot).substr(0, snapshot.size() - 4)));
    for (int i = 0; i < 4; ++i) snapshot[snapshot.size() - 4 + i] = static_cast<char>(crc >> (8 * i));
  }
  replace_file(*base.directory, kSnapshot, snapshot);

  Options read_only = base.options;
  read_only.read_only = true;
  std::optional<Store> db;
  try {
    db.emplace(Store::open("snapshot-fuzz", read_only));
  } catch (...) {
    FUZZ_CHECK(false);  // a bad snapshot is ignored, never fatal
  }
  const bool used = db->stats().keys_from_snapshot > 0;
  const bool same = snapshot == base.good;
  if (!crc_fixed && !same) FUZZ_CHECK(!used);  // the CRC catches every edit
  if (!used || same) {
    FUZZ_CHECK(db->size() == base.reference.size());
    for (const auto& [key, value] : base.reference) FUZZ_CHECK(db->get(key) == value);
    return 0;
  }
  // A forgery that checks: reads must stay safe.
  for (const auto& [key, value] : base.reference) {
    try {
      (void)db->get(key);
    } catch (const CorruptionError&) {
    }
  }
  try {
    db->for_each([](std::string_view, std::string_view) {});
  } catch (const CorruptionError&) {
  }
  (void)db->keys();
  return 0;
}
