// libFuzzer target: Store::open over a directory whose datafiles are the fuzz
// input (the hint-file decoder is not on this branch yet). The input is one
// datafile, or two when it holds the separator "|SPLIT|" (an older and the
// newest segment). Open may only fail with CorruptionError; once open, every
// key must read back, and the store must accept a write and reopen cleanly
// (recovery left the newest segment in a state it can append to).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "backends/memory_directory.h"
#include "core/error.h"
#include "core/filename.h"
#include "core/store.h"

using namespace pyk;

#define FUZZ_CHECK(c) \
  do {                \
    if (!(c)) std::abort(); \
  } while (0)

namespace {

void add_file(MemoryDirectory& d, std::uint32_t id, std::string_view bytes) {
  auto s = d.create(filename::data(id), bytes.size());
  s->append(std::as_bytes(std::span(bytes.data(), bytes.size())));
  s->seal();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  auto directory = std::make_shared<MemoryDirectory>("fuzz");
  const auto split = input.find("|SPLIT|");
  if (split == std::string_view::npos) {
    add_file(*directory, 1, input);
  } else {
    add_file(*directory, 1, input.substr(0, split));
    add_file(*directory, 2, input.substr(split + 7));
  }
  Options options;
  options.directory = directory;
  options.max_segment_size = 4096;
  options.logger = [](std::string_view) {};
  try {
    Store db = Store::open("fuzz", options);
    std::size_t n = 0;
    db.for_each([&](std::string_view key, std::string_view value) {
      FUZZ_CHECK(db.get(key).value() == value);
      ++n;
    });
    FUZZ_CHECK(n == db.size() || db.size() < n);  // expired keys may drop out meanwhile
    db.put("fuzz-key", "fuzz-value");
    db.close();
  } catch (const CorruptionError&) {
    return 0;  // damage where a torn tail cannot be: reported, as it should be
  }
  // Whatever recovery accepted, it must accept again after our write.
  Store again = Store::open("fuzz", options);
  FUZZ_CHECK(again.get("fuzz-key").value_or("") == "fuzz-value");
  return 0;
}
