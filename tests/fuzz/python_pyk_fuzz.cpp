// libFuzzer target: the reader of Python pyk files (tools/lib/python_pyk.h)
// and `pyk import --from-python-pyk`. The reader must walk any input to its
// end, every record and damaged region inside the file and in order; a file
// it calls a Python pyk file must have a first record; import into a store
// either refuses the file (InvalidArgument) or accepts one that looks right.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "backends/memory_directory.h"
#include "core/error.h"
#include "core/store.h"
#include "tools/lib/python_pyk.h"
#include "tools/lib/transfer.h"

using namespace pyk;
namespace py = pyk::tools::python_pyk;

#define FUZZ_CHECK(c)       \
  do {                      \
    if (!(c)) std::abort(); \
  } while (0)

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view file(reinterpret_cast<const char*>(data), size);
  py::Reader reader(file);
  std::uint64_t at = 0, steps = 0;
  for (;;) {
    const auto step = reader.next();
    if (step == py::Reader::Step::end) break;
    FUZZ_CHECK(++steps <= size + 1);  // every step moves on
    if (step == py::Reader::Step::record) {
      const py::Record& r = reader.record();
      FUZZ_CHECK(r.offset >= at && r.size >= py::kHeaderSize && r.size <= size - r.offset);
      FUZZ_CHECK(r.key.data() >= file.data() && r.key.data() + r.key.size() <= file.data() + size);
      FUZZ_CHECK(r.value.data() >= file.data() &&
                 r.value.data() + r.value.size() <= file.data() + size);
      at = r.offset + r.size;
    } else {
      const py::Damage& d = reader.damage();
      FUZZ_CHECK(d.offset >= at && d.length > 0 && d.length <= size - d.offset);
      at = d.offset + d.length;
    }
  }
  const bool looks = py::looks_like_python_pyk(file);
  if (looks) {
    const char* why = nullptr;
    FUZZ_CHECK(py::decode_at(file, 0, &why).has_value());
  }

  auto directory = std::make_shared<MemoryDirectory>("python-fuzz");
  {
    auto f = directory->create("file.db", size);
    f->append(std::as_bytes(std::span(data, size)));
    f->seal();
  }
  Options options;
  options.directory = std::make_shared<MemoryDirectory>("python-fuzz-store");
  options.logger = [](std::string_view) {};
  Store db = Store::open("python-fuzz-store", options);
  try {
    const auto stats = tools::import_python_pyk(db, *directory, "file.db");
    FUZZ_CHECK(looks);
    FUZZ_CHECK(db.size() <= stats.puts);
  } catch (const InvalidArgument&) {
    FUZZ_CHECK(!looks);
  }
  return 0;
}
