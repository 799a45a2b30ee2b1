// libFuzzer target: Store::open over a whole store directory built from the
// input: several datafiles and hint files, on the memory backend or in a real
// directory (file or mmap backend).
//
// Input: one byte choosing the backend (value % 3: memory, file, mmap), then
// files separated by "|FILE|"; each file starts with a byte naming it (bit 7:
// hint file, else datafile; low 3 bits: segment id - 1), then its bytes.
//
// Checks: open succeeds or throws CorruptionError; every key for_each yields
// reads back with get; when a reference decode (below, written from format.h
// without the engine's reader) finds every datafile clean, open must succeed
// and yield exactly the reference's live keys and values, hints or not;
// the store accepts a write and reopens.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "backends/memory_directory.h"
#include "core/crc32c.h"
#include "core/error.h"
#include "core/filename.h"
#include "core/format.h"
#include "core/store.h"
#include "tests/fuzz/fuzz_support.h"

using namespace pyk;
namespace fs = std::filesystem;

namespace {

constexpr std::uint64_t kNow = 1'767'225'600'000'000;  // 2026-01-01, the store's clock

using Files = std::map<std::string, std::string>;  // name -> bytes
using Contents = std::map<std::string, std::string>;


std::uint32_t u32(std::string_view s, std::size_t at) {
  return format::load_le<std::uint32_t>(reinterpret_cast<const std::byte*>(s.data() + at));
}
std::uint64_t u64(std::string_view s, std::size_t at) {
  return format::load_le<std::uint64_t>(reinterpret_cast<const std::byte*>(s.data() + at));
}

// One clean datafile's records applied to `live` (value/expiry by key), or
// false if anything in it is not clean: a bad header, a damaged, torn or
// unknown record, an incomplete batch. A zero tail at a record boundary is
// clean in the newest file only.
struct Value {
  std::string bytes;
  std::uint64_t expiry = 0;
};
bool apply_clean(std::string_view file, std::uint32_t id, bool newest,
                 std::map<std::string, Value>& live) {
  if (file.size() < format::kFileHeaderSize || file.substr(0, 8) != format::kDataMagic ||
      u32(file, 8) != format::kFormatVersion || u32(file, 12) != 0 || u64(file, 16) != id ||
      u32(file, 28) != crc32c::value(format::as_bytes(file.substr(0, 28)))) {
    return false;
  }
  struct Op {
    bool erase;
    std::string key;
    Value value;
  };
  std::vector<Op> batch;
  std::uint64_t batch_left = 0, batch_end = 0;
  bool in_batch = false;
  std::size_t at = format::kFileHeaderSize;
  while (at < file.size()) {
    if (file.size() - at < format::kRecordHeaderSize) return false;
    if (file.substr(at).find_first_not_of('\0') == std::string_view::npos) return newest && !in_batch;
    const std::uint8_t type = static_cast<std::uint8_t>(file[at + 4]);
    const std::uint32_t key_size = u32(file, at + 8), value_size = u32(file, at + 12);
    const std::uint64_t size = format::kRecordHeaderSize + std::uint64_t{key_size} + value_size;
    if (type < 1 || type > 3 || file[at + 5] != 0 || file[at + 6] != 0 || file[at + 7] != 0 ||
        (key_size == 0 && type != 3) || key_size > format::kMaxKeySize || size > file.size() - at ||
        u32(file, at) != crc32c::value(format::as_bytes(file.substr(at + 4, size - 4)))) {
      return false;
    }
    const std::string key(file.substr(at + format::kRecordHeaderSize, key_size));
    const std::string_view value = file.substr(at + format::kRecordHeaderSize + key_size, value_size);
    const std::uint64_t expiry = u64(file, at + 24);
    at += size;
    if (type == 3) {  // batch header: u32 count, u32 0, u64 length of its records
      if (in_batch || value.size() != 16 || u32(value, 4) != 0) return false;
      batch_left = u32(value, 0);
      batch_end = at + u64(value, 8);
      in_batch = true;
      batch.clear();
    } else {
      if (type == 2 && value_size != 0) return false;
      Op op{type == 2, key, {std::string(value), expiry}};
      if (!in_batch) {
        batch.assign(1, std::move(op));
      } else {
        batch.push_back(std::move(op));
        --batch_left;
      }
    }
    if (in_batch && batch_left > 0) continue;
    if (in_batch && at != batch_end) return false;
    in_batch = false;
    for (auto& op : batch) {
      if (op.erase) {
        live.erase(op.key);
      } else {
        live[op.key] = std::move(op.value);
      }
    }
    batch.clear();
  }
  return !in_batch;
}

// The live contents of the datafiles if every one is clean (replayed by id:
// rank 0 everywhere, which apply_clean requires), else nullopt.
std::optional<Contents> reference_decode(const Files& files) {
  std::vector<std::pair<std::uint32_t, const std::string*>> data;
  for (const auto& [name, bytes] : files) {
    const auto parsed = filename::parse(name);
    if (parsed.kind == filename::Kind::data) data.emplace_back(parsed.segment_id, &bytes);
  }
  std::map<std::string, Value> live;
  for (std::size_t i = 0; i < data.size(); ++i) {
    if (!apply_clean(*data[i].second, data[i].first, i + 1 == data.size(), live)) return std::nullopt;
  }
  Contents out;
  for (auto& [key, value] : live) {
    if (value.expiry == 0 || value.expiry > kNow) out.emplace(key, std::move(value.bytes));
  }
  return out;
}

Contents read_all(const Store& db) {
  Contents out;
  db.for_each([&](std::string_view key, std::string_view value) {
    FUZZ_CHECK(db.get(key).value_or("\x01missing") == value);
    out.emplace(key, value);
  });
  return out;
}

// A real store directory for one input, removed afterwards.
struct ScratchDir {
  ScratchDir() {
    const fs::path base = fs::exists("/dev/shm") ? "/dev/shm" : fs::temp_directory_path();
    path = base / ("pyk-open-fuzz-" + std::to_string(::getpid()));
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~ScratchDir() {
    std::error_code ignored;
    fs::remove_all(path, ignored);
  }
  fs::path path;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const char* backends[] = {"memory", "file", "mmap"};
  const char* backend = backends[data[0] % 3];
  const Files files = fuzz::parse_store_files(std::string_view(reinterpret_cast<const char*>(data) + 1, size - 1));

  Options options;
  options.max_segment_size = 4096;
  options.logger = [](std::string_view) {};
  options.clock = [] { return std::chrono::system_clock::time_point(std::chrono::microseconds(kNow)); };
  std::optional<ScratchDir> scratch;
  std::string path = "fuzz";
  if (std::string_view(backend) == "memory") {
    auto directory = std::make_shared<MemoryDirectory>("fuzz");
    for (const auto& [name, bytes] : files) {
      auto s = directory->create(name, bytes.size());
      s->append(format::as_bytes(bytes));
      s->seal();
    }
    options.directory = directory;
  } else {
    scratch.emplace();
    path = scratch->path.string();
    for (const auto& [name, bytes] : files) std::ofstream(scratch->path / name, std::ios::binary) << bytes;
    options.backend = backend;
  }

  const std::optional<Contents> reference = reference_decode(files);
  try {
    Store db = Store::open(path, options);
    const Contents got = read_all(db);
    FUZZ_CHECK(got.size() == db.size());
    if (reference) FUZZ_CHECK(got == *reference);  // clean files: nothing dropped, nothing invented
    db.put("fuzz-key", "fuzz-value");
    db.close();
  } catch (const CorruptionError&) {
    FUZZ_CHECK(!reference);  // damage where a torn tail cannot be: reported, as it should be
    return 0;
  }
  // Whatever recovery accepted, it must accept again after our write.
  Store again = Store::open(path, options);
  FUZZ_CHECK(again.get("fuzz-key").value_or("") == "fuzz-value");
  return 0;
}
