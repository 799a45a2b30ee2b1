// libFuzzer target: the datafile decoder (RecordReader) over arbitrary bytes.
// Every record it returns must lie inside the file and pass its CRC; every
// damage step must cover bytes of the file; every step must make progress.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "backends/memory_segment.h"
#include "core/format.h"
#include "core/record_reader.h"

using namespace pyk;

#define FUZZ_CHECK(c) \
  do {                \
    if (!(c)) std::abort(); \
  } while (0)

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto file = std::make_shared<MemoryFile>("fuzz");
  file->append(std::as_bytes(std::span(data, size)));
  MemorySegment segment(file, "0000000001.data", false);
  // Start after the file header, as recovery does (or at 0 for short inputs).
  const std::uint64_t start = std::min<std::uint64_t>(size, format::kFileHeaderSize);
  RecordReader reader(segment, start);
  std::uint64_t position = start;
  for (std::size_t steps = 0;; ++steps) {
    FUZZ_CHECK(steps <= size + 1);
    const auto step = reader.next();
    if (step == RecordReader::Step::end) break;
    if (step == RecordReader::Step::record) {
      const Record& r = reader.record();
      FUZZ_CHECK(r.offset == position);
      FUZZ_CHECK(r.offset + r.size() <= size);
      FUZZ_CHECK(r.key.size() == r.header.key_size && r.value.size() == r.header.value_size);
      FUZZ_CHECK(format::check_record_header(r.header) == nullptr);
      std::vector<std::byte> bytes(r.size());
      segment.read_into(r.offset, bytes);
      FUZZ_CHECK(format::record_crc(bytes) == r.header.crc);
      position = r.offset + r.size();
      FUZZ_CHECK(reader.valid_end() == position);
    } else {
      const Damage& d = reader.damage();
      FUZZ_CHECK(d.offset == position);
      FUZZ_CHECK(d.length > 0 && d.offset + d.length <= size);
      FUZZ_CHECK(d.at_tail == (d.offset + d.length == size));
      FUZZ_CHECK(!d.reason.empty());
      position = d.offset + d.length;
    }
  }
  FUZZ_CHECK(reader.valid_end() <= size);
  return 0;
}
