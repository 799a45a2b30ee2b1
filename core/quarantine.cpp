#include "core/quarantine.h"

#include "core/format.h"

namespace pyk {
namespace {

// A name for `base` in the quarantine folder that is not taken yet.
std::string free_name(Directory& quarantine, const std::string& base) {
  if (!quarantine.exists(base)) return base;
  for (int i = 1;; ++i) {
    std::string name = base + "." + std::to_string(i);
    if (!quarantine.exists(name)) return name;
  }
}

}  // namespace

std::string quarantine_name(const std::string& name, std::uint64_t from, std::uint64_t to) {
  return name + "." + std::to_string(from) + "-" + std::to_string(to);
}

void write_file(Directory& directory, const std::string& name, std::string_view bytes) {
  auto segment = directory.create(name, bytes.size() + 1);
  if (!bytes.empty()) segment->append(format::as_bytes(bytes));
  segment->seal();
}

std::string quarantine_bytes(Directory& quarantine, const std::string& base, std::string_view bytes) {
  std::string name = free_name(quarantine, base);
  write_file(quarantine, name, bytes);
  quarantine.sync();
  return name;
}

}  // namespace pyk
