#include "tools/lib/quarantine.h"

#include "core/format.h"
#include "tools/lib/source.h"

namespace pyk::tools {
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

void write_file(Directory& directory, const std::string& name, std::string_view bytes) {
  auto segment = directory.create(name, bytes.size() + 1);
  if (!bytes.empty()) segment->append(format::as_bytes(bytes));
  segment->seal();
}

void quarantine_bytes(Directory& quarantine, const std::string& base, std::string_view bytes) {
  write_file(quarantine, free_name(quarantine, base), bytes);
  quarantine.sync();
}

void move_to_quarantine(Directory& store, Directory& quarantine, const std::string& name) {
  quarantine_bytes(quarantine, name, read_all(store, name));
  store.remove(name);
  store.sync();
}

}  // namespace pyk::tools
