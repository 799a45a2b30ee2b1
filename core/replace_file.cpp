#include "core/replace_file.h"

#include "core/filename.h"

namespace pyk {

void write_temp_file(Directory& directory, const std::string& final_name, std::uint64_t size_hint,
                     const std::function<void(Segment& file)>& write) {
  const std::string temp_name = filename::temp(final_name);
  directory.remove(temp_name);  // a leftover of an interrupted write, if any
  try {
    const std::unique_ptr<Segment> file = directory.create(temp_name, size_hint);
    write(*file);
  } catch (...) {
    try {
      directory.remove(temp_name);
    } catch (...) {  // the original error is the one to report; open removes it
    }
    throw;
  }
}

void replace_file(Directory& directory, const std::string& final_name, std::uint64_t size_hint,
                  const std::function<void(Segment& file)>& write) {
  write_temp_file(directory, final_name, size_hint, write);
  directory.rename(filename::temp(final_name), final_name);
  directory.sync();
}

}  // namespace pyk
