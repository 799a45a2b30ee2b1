#include "tools/bench/engine.h"

#include <filesystem>

namespace pyk::bench {

std::uint64_t directory_bytes(const std::string& dir) {
  std::uint64_t total = 0;
  std::error_code ec;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir, ec)) {
    if (entry.is_regular_file(ec)) total += entry.file_size(ec);
  }
  return total;
}

void consume(std::string_view key, std::string_view value, std::uint64_t& bytes) {
  thread_local std::string copy;
  copy.assign(value);
  bytes += key.size() + copy.size();
}

std::size_t Session::get_many(std::span<const std::string_view> keys,
                              std::vector<std::string>& out) {
  if (out.size() < keys.size()) out.resize(keys.size());
  std::size_t found = 0;
  for (std::size_t i = 0; i < keys.size(); ++i) found += get(keys[i], out[i]);
  return found;
}

std::uint64_t Engine::disk_bytes() { return directory_bytes(dir_); }

std::vector<EngineInfo> all_engines() {
  std::vector<EngineInfo> out;
  add_pyk_engines(out);
#ifdef PYK_BENCH_PEERS
  add_leveldb(out);
  add_rocksdb(out);
  add_lmdb(out);
  add_tkrzw(out);
  add_kyoto(out);
#endif
  return out;
}

}  // namespace pyk::bench
