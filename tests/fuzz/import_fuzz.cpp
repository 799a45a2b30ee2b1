// libFuzzer target: `pyk import` of JSON Lines (tools/lib/transfer.h). Any
// input is imported or refused with InvalidArgument; what was imported
// exports and imports again to the same contents (a round trip is exact).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <sstream>
#include <string>

#include "backends/memory_directory.h"
#include "core/error.h"
#include "core/store.h"
#include "tools/lib/transfer.h"
#include "tests/fuzz/fuzz_support.h"

using namespace pyk;

namespace {

constexpr std::uint64_t kNow = 1'767'225'600'000'000;

std::map<std::string, std::string> contents(const Store& db) {
  std::map<std::string, std::string> out;
  db.for_each([&](std::string_view k, std::string_view v) { out.emplace(k, v); });
  return out;
}

Store open_memory(const std::shared_ptr<MemoryDirectory>& directory) {
  Options options;
  options.directory = directory;
  options.logger = [](std::string_view) {};
  options.clock = [] { return std::chrono::system_clock::time_point(std::chrono::microseconds(kNow)); };
  return Store::open("import-fuzz", options);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto first_dir = std::make_shared<MemoryDirectory>("import-fuzz");
  Store first = open_memory(first_dir);
  std::istringstream in(std::string(reinterpret_cast<const char*>(data), size));
  try {
    tools::import_jsonl(first, in, kNow);
  } catch (const InvalidArgument&) {
    return 0;  // malformed input, named by its line
  }
  const auto imported = contents(first);
  first.close();
  std::ostringstream exported;
  tools::export_store(*first_dir, exported, kNow);

  auto second_dir = std::make_shared<MemoryDirectory>("import-fuzz-copy");
  Store second = open_memory(second_dir);
  std::istringstream again(exported.str());
  tools::import_jsonl(second, again, kNow);  // our own export: must not be refused
  FUZZ_CHECK(contents(second) == imported);
  return 0;
}
