// libFuzzer target: the hint-file decoder. Input: 8 bytes (little-endian
// size of the datafile the hint claims to describe), then the hint file.
// hint::check must not crash; a hint it accepts must load and every entry
// must point inside the datafile, with a sane record size.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "backends/memory_directory.h"
#include "core/filename.h"
#include "core/format.h"
#include "core/hint_file.h"
#include "tests/fuzz/fuzz_support.h"

using namespace pyk;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 8) return 0;
  const auto bytes = std::as_bytes(std::span(data, size));
  const std::uint64_t data_size = format::load_le<std::uint64_t>(bytes.data());
  const auto hint_bytes = bytes.subspan(8);
  std::uint64_t count = 0;
  const char* problem = hint::check(hint_bytes, 1, data_size, count);
  MemoryDirectory directory("fuzz");
  {
    auto s = directory.create(filename::hint(1), hint_bytes.size());
    s->append(hint_bytes);
    s->seal();
  }
  std::string why;
  auto loaded = hint::HintFile::load(directory, 1, data_size, why);
  FUZZ_CHECK(loaded.has_value() == (problem == nullptr));  // one judgement, two entry points
  if (!loaded) return 0;
  FUZZ_CHECK(loaded->entry_count() == count);
  std::uint64_t seen = 0;
  loaded->for_each([&](const format::HintEntry& e) {
    FUZZ_CHECK(!e.key.empty());
    FUZZ_CHECK(e.offset >= format::kFileHeaderSize);
    FUZZ_CHECK(e.offset + e.record_size <= data_size);
    FUZZ_CHECK(e.record_size >= format::kRecordHeaderSize + e.key.size());
    ++seen;
  });
  FUZZ_CHECK(seen == count);
  return 0;
}
