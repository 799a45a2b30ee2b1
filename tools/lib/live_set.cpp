#include "tools/lib/live_set.h"

#include <map>

#include "core/format.h"
#include "core/log_reader.h"

namespace pyk::tools {

LiveSet live_records(Directory& directory, const std::vector<std::string>& names,
                     std::uint64_t now_micros) {
  struct Where {
    const std::string* file;
    std::uint64_t offset, expiry;
  };
  std::map<std::string, Where, std::less<>> keydir;
  for (const auto& name : names) {
    auto segment = directory.open(name, OpenMode::read_only);
    if (segment->size() < format::kFileHeaderSize) continue;
    // The damage itself is shown by the record-by-record dump.
    LogReader reader(*segment, LogReader::Mode::tolerant);
    while (reader.next()) {
      for (const Record& r : reader.unit().records) {
        if (r.header.type == format::RecordType::value) {
          keydir.insert_or_assign(std::string(r.key), Where{&name, r.offset, r.header.expiry});
        } else if (auto it = keydir.find(r.key); it != keydir.end()) {
          keydir.erase(it);
        }
      }
    }
  }
  LiveSet live;
  for (const auto& [key, where] : keydir)
    if (where.expiry == 0 || where.expiry > now_micros) live.emplace(*where.file, where.offset);
  return live;
}

}  // namespace pyk::tools
