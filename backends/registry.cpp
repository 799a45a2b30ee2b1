// open_directory() and backend_names(), declared in core/directory.h: the one
// place that maps backend names to implementations.
#include <string>

#include "backends/file_segment.h"
#include "backends/memory_directory.h"
#include "backends/mmap_segment.h"
#include "backends/posix_directory.h"
#include "core/directory.h"
#include "core/error.h"

namespace pyk {
namespace {

constexpr SegmentFactory kFileSegments{"file", &FileSegment::create, &FileSegment::open};
constexpr SegmentFactory kMmapSegments{"mmap", &MmapSegment::create, &MmapSegment::open};

}  // namespace

std::vector<std::string> backend_names() { return {"file", "mmap", "memory"}; }

std::shared_ptr<Directory> open_directory(std::string_view backend, const std::string& path,
                                          bool create) {
  if (backend == kFileSegments.backend) return open_posix_directory(path, create, kFileSegments);
  if (backend == kMmapSegments.backend) return open_posix_directory(path, create, kMmapSegments);
  if (backend == "memory") return open_memory_directory(path, create);

  std::string valid;
  for (const std::string& name : backend_names()) {
    valid += (valid.empty() ? "\"" : ", \"") + name + "\"";
  }
  throw InvalidArgument("unknown storage backend \"" + std::string(backend) +
                        "\"; valid backends: " + valid);
}

}  // namespace pyk
