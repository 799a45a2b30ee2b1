// Writes the seed corpora of the fuzz targets (tests/fuzz/corpus/<target>/):
// datafiles made by the engine itself, whole, torn and with a flipped byte.
// Built and run by tests/fuzz/run.sh --make-corpus.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <boost/crc.hpp>
#include <sstream>

#include "backends/memory_directory.h"
#include "core/filename.h"
#include "core/store.h"
#include "tools/lib/transfer.h"
#include "tests/fuzz/fuzz_support.h"

using namespace pyk;

namespace {

std::string read_all(Directory& d, const std::string& name) {
  auto s = d.open(name, OpenMode::read_only);
  std::string bytes(s->size(), '\0');
  s->read_into(0, std::as_writable_bytes(std::span(bytes)));
  return bytes;
}

void write(const std::filesystem::path& dir, const std::string& name, const std::string& bytes) {
  std::filesystem::create_directories(dir);
  std::ofstream(dir / name, std::ios::binary) << bytes;
}

// open_fuzz input: a backend byte, then files separated by "|FILE|", each
// led by a byte naming it (bit 7: hint; low 3 bits: segment id - 1).
std::string open_input(Directory& d, char backend, bool hints, const std::string& newest_tail = {}) {
  std::string out(1, backend);
  std::vector<std::string> names = d.list();
  std::sort(names.begin(), names.end());
  std::uint32_t newest = 0;
  for (const auto& name : names) {
    const auto parsed = filename::parse(name);
    if (parsed.kind == filename::Kind::data) newest = std::max(newest, parsed.segment_id);
  }
  for (const auto& name : names) {
    const auto parsed = filename::parse(name);
    const bool hint = parsed.kind == filename::Kind::hint;
    if ((parsed.kind != filename::Kind::data && !hint) || (hint && !hints)) continue;
    if (out.size() > 1) out += fuzz::kFileSeparator;
    out += static_cast<char>((hint ? 0x80 : 0) | ((parsed.segment_id - 1) & 7));
    out += read_all(d, name);
    if (!hint && parsed.segment_id == newest) out += newest_tail;
  }
  return out;
}

// Stores made by the engine and closed cleanly: several segments, hint
// files, batches (erase-only too) and TTLs; on each backend, with and
// without hints, and with a zero tail after the newest segment's last record.
void write_open_seeds(const std::filesystem::path& dir) {
  auto d = std::make_shared<MemoryDirectory>("open-seeds");
  Options options;
  options.directory = d;
  options.max_segment_size = 4096;
  options.logger = [](std::string_view) {};
  options.clock = [] {
    return std::chrono::system_clock::time_point(std::chrono::microseconds(1'767'225'600'000'000));
  };
  {
    Store db = Store::open("open-seeds", options);
    for (int i = 0; i < 40; ++i) db.put("key" + std::to_string(i % 25), std::string(60 + i, char('a' + i % 26)));
    db.put("expiring", "soon", std::chrono::hours(1));
    WriteBatch batch;
    batch.put("b1", "one");
    batch.erase("key3");
    batch.put("b2", "two", std::chrono::hours(2));
    db.write(batch);
    WriteBatch erases;
    erases.erase("key4");
    erases.erase("key5");
    db.write(erases);
    db.erase("key6");
    while (db.stats().segments.back().bytes < 2200) db.put("pad", std::string(100, 'p'));
    db.close();  // hints for every segment
  }
  const char* backends[] = {"memory", "file", "mmap"};
  for (char b = 0; b < 3; ++b) {
    const std::string name = backends[static_cast<int>(b)];
    write(dir, name + "_with_hints", open_input(*d, b, true));
    write(dir, name + "_without_hints", open_input(*d, b, false));
  }
  write(dir, "zero_tail_at_a_record_boundary", open_input(*d, 0, false, std::string(256, '\0')));
  // The same stores for fsck_fuzz (same format), and their export for import_fuzz.
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    std::filesystem::create_directories(dir.parent_path() / "fsck");
    std::filesystem::copy_file(entry.path(), dir.parent_path() / "fsck" / entry.path().filename(),
                               std::filesystem::copy_options::overwrite_existing);
  }
  std::ostringstream exported;
  tools::export_store(*d, exported, 1'767'225'600'000'000);
  write(dir.parent_path() / "import", "export_of_a_store", exported.str());
  write(dir.parent_path() / "import", "binary_and_ttl",
        "{\"key\":\"a\",\"value\":\"1\"}\n"
        "{\"key_b64\":\"AP8=\",\"value_b64\":\"AAEC\",\"expiry_us\":1767229200000000}\n"
        "{\"type\":\"tombstone\",\"key\":\"a\"}\n");
}

// A Python pyk record: six u32 (CRC-32 of the value, time, expiry, deleted,
// key length, value length), key, value.
std::string python_record(std::string_view key, std::string_view value, std::uint32_t expiry,
                          bool deleted, bool char_lengths = false) {
  boost::crc_32_type crc;
  crc.process_bytes(value.data(), value.size());
  auto length = [&](std::string_view s) {
    if (!char_lengths) return static_cast<std::uint32_t>(s.size());
    return static_cast<std::uint32_t>(std::count_if(s.begin(), s.end(), [](char c) {
      return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
    }));
  };
  std::string out;
  for (const std::uint32_t v : {static_cast<std::uint32_t>(crc.checksum()), 1767225600u, expiry,
                                deleted ? 1u : 0u, length(key), length(value)}) {
    for (int i = 0; i < 4; ++i) out += static_cast<char>(v >> (8 * i));
  }
  return out + std::string(key) + std::string(value);
}

void write_python_seeds(const std::filesystem::path& dir) {
  const std::string records = python_record("a", "1", 0, false) +
                              python_record("b", "two", 1767229200u, false) +
                              python_record("a", "", 0, true) +
                              python_record("k\xc3\xa9", "v\xc3\xa9", 0, false, true);
  write(dir, "records", records);
  write(dir, "torn", records.substr(0, records.size() - 3));
  write(dir, "one_record", python_record("a", "1", 0, false));
}

}  // namespace

int main(int argc, char** argv) {
  const std::filesystem::path root = argc > 1 ? argv[1] : "tests/fuzz/corpus";
  auto d = std::make_shared<MemoryDirectory>("corpus");
  Options options;
  options.directory = d;
  options.max_segment_size = 4096;
  {
    Store db = Store::open("corpus", options);
    db.put("alpha", "1");
    db.put("beta", std::string(100, 'b'));
    db.erase("alpha");
    WriteBatch batch;
    batch.put("gamma", "3");
    batch.erase("beta");
    batch.put("delta", "4", std::chrono::hours(1));
    db.write(batch);
    for (int i = 0; i < 30; ++i) db.put("key" + std::to_string(i), std::string(150, char('a' + i % 26)));
  }
  const std::string first = read_all(*d, filename::data(1));
  const std::string second = read_all(*d, filename::data(2));
  for (const auto* target : {"record_reader"}) {
    const auto dir = root / target;
    write(dir, "empty_segment", first.substr(0, 32));
    write(dir, "small_store", first.substr(0, 400));
    write(dir, "torn_record", first.substr(0, 380));
    write(dir, "torn_batch", first.substr(0, 300));
    std::string flipped = first.substr(0, 400);
    flipped[200] ^= 0x5A;
    write(dir, "flipped_byte", flipped);
    write(dir, "zero_tail", first.substr(0, 400) + std::string(200, '\0'));
  }
  // Hint files, prefixed with the size of their datafile (hint_fuzz input).
  for (std::uint32_t id = 1; id <= 3; ++id) {
    if (!d->exists(filename::hint(id))) continue;
    const std::string hint = read_all(*d, filename::hint(id));
    const std::uint64_t data_size = d->open(filename::data(id), OpenMode::read_only)->size();
    std::string prefix(8, '\0');
    for (int i = 0; i < 8; ++i) prefix[i] = static_cast<char>(data_size >> (8 * i));
    write(root / "hint", "hint_of_segment_" + std::to_string(id), prefix + hint);
    write(root / "hint", "torn_hint_of_segment_" + std::to_string(id), prefix + hint.substr(0, hint.size() / 2));
    write(root / "hint", "stale_hint_of_segment_" + std::to_string(id), std::string(8, '\1') + hint);
  }
  // Seeds that end cleanly: whole datafiles (complete batches), one with a
  // zero tail at a record boundary (preallocated mmap space).
  for (const auto* target : {"record_reader"}) {
    write(root / target, "whole_segment", first);
    write(root / target, "whole_segment_zero_tail", second + std::string(300, '\0'));
  }
  // Edits of a good keydir snapshot (keydir_snapshot_fuzz input: flags,
  // optional u16 length, then u16 offset + u8 xor triples).
  const auto snapshot_dir = root / "keydir_snapshot";
  write(snapshot_dir, "unchanged", std::string(1, '\0'));
  write(snapshot_dir, "one_flip", std::string("\0\x30\0\x01", 4));
  write(snapshot_dir, "flip_crc_fixed", std::string("\x01\x30\0\x01\x60\x01\x80", 7));
  write(snapshot_dir, "header_crc_fixed", std::string("\x01\x10\0\x01", 4));
  write(snapshot_dir, "cut", std::string("\x02\x40\0", 3));
  write(snapshot_dir, "cut_crc_fixed", std::string("\x03\x00\x01", 3));
  write_open_seeds(root / "open");
  write_python_seeds(root / "python_pyk");
  return 0;
}
