#include "tools/lib/quarantine.h"

#include "tools/lib/source.h"

namespace pyk::tools {

void move_to_quarantine(Directory& store, Directory& quarantine, const std::string& name) {
  quarantine_bytes(quarantine, name, read_all(store, name));
  store.remove(name);
  store.sync();
}

}  // namespace pyk::tools
