// libFuzzer target: pyk-fsck --repair (tools/lib/fsck.h) over a store
// directory built from the input (the open_fuzz format: a byte, ignored
// here, then files separated by "|FILE|", each led by a byte naming it; bit
// 7: hint file, else datafile; low 3 bits: segment id - 1). Repair must not
// crash, must write nothing outside the store and its quarantine/, and must
// leave a store that checks clean and opens.
#include <cstdio>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

#include "core/error.h"
#include "core/filename.h"
#include "core/store.h"
#include "tools/lib/fsck.h"
#include "tests/fuzz/fuzz_support.h"

using namespace pyk;
namespace fs = std::filesystem;

namespace {


void write_files(const fs::path& dir, std::string_view input) {
  for (const auto& [name, bytes] : fuzz::parse_store_files(input))
    std::ofstream(dir / name, std::ios::binary) << bytes;
}

// Only the store's own kinds of files, and quarantine/ holding files only.
bool only_store_files(const fs::path& store) {
  for (const auto& entry : fs::directory_iterator(store)) {
    if (entry.is_regular_file()) continue;
    if (!entry.is_directory() || entry.path().filename() != "quarantine") return false;
    for (const auto& q : fs::directory_iterator(entry.path())) {
      if (!q.is_regular_file()) return false;
    }
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const fs::path base = fs::exists("/dev/shm") ? "/dev/shm" : fs::temp_directory_path();
  const fs::path parent = base / ("pyk-fsck-fuzz-" + std::to_string(::getpid()));
  const fs::path store = parent / "store";
  fs::remove_all(parent);
  fs::create_directories(store);
  write_files(store, std::string_view(reinterpret_cast<const char*>(data) + 1, size - 1));

  tools::FsckOptions repair;
  repair.repair = true;
  bool repaired = true;
  try {
    // A repair that would show older values is refused until accepted.
    if (!tools::fsck_path(store.string(), repair).refused.empty()) {
      repair.accept_reverted = true;
      tools::fsck_path(store.string(), repair);
    }
  } catch (const CorruptionError& e) {
    std::fprintf(stderr, "repair threw CorruptionError: %s\n", e.what());
    std::abort();  // repair exists to handle damage
  } catch (const Error&) {
    repaired = false;  // e.g. an I/O error: reported, not a crash
  }
  // Nothing written beside the store.
  std::size_t beside = 0;
  for (const auto& entry : fs::directory_iterator(parent)) beside += entry.path() != store;
  FUZZ_CHECK(beside == 0);
  FUZZ_CHECK(only_store_files(store));
  if (repaired) {
    // Idempotent: the repaired store checks clean, and the engine opens it.
    FUZZ_CHECK(tools::fsck_path(store.string(), {}).problems() == 0);
    Options options;
    options.read_only = true;
    options.logger = [](std::string_view) {};
    Store db = Store::open(store.string(), options);
    db.for_each([](std::string_view, std::string_view) {});
  }
  std::error_code ignored;
  fs::remove_all(parent, ignored);
  return 0;
}
