// Writes the seed corpora of the fuzz targets (tests/fuzz/corpus/<target>/):
// datafiles made by the engine itself, whole, torn and with a flipped byte.
// Built and run by tests/fuzz/run.sh --make-corpus.
#include <filesystem>
#include <fstream>
#include <string>

#include "backends/memory_directory.h"
#include "core/filename.h"
#include "core/store.h"

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
  for (const auto* target : {"record_reader", "open"}) {
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
  write(root / "open", "two_segments", first + "|SPLIT|" + second.substr(0, 600));
  write(root / "open", "two_segments_torn_first", first.substr(0, 1000) + "|SPLIT|" + second.substr(0, 300));
  return 0;
}
