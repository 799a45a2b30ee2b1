// A store like the one the integrity findings were made on: 300 keys written
// twice over small segments, so that each key's newest record sits in a
// later sealed segment than an older value of it, every sealed segment with
// its hint; and the offsets of a datafile's records, for damaging them.
#pragma once

#include <string>
#include <vector>

#include "core/filename.h"
#include "core/format.h"
#include "core/store.h"
#include "tests/backend_fixtures.h"
#include "tests/store_helpers.h"

namespace pyk::test {

inline std::string history_value(int key, int round) {
  return "round" + std::to_string(round) + "-key" + std::to_string(key) + std::string(40, '.');
}

// Writes the store and closes it; returns the sealed segments' ids (all but
// the active one), each with its hint.
template <class B>
std::vector<std::uint32_t> fill_history(StoreEnv<B>& env, int keys = 300) {
  env.options.max_segment_size = 4096;
  {
    auto db = env.open();
    for (int round = 0; round < 2; ++round)
      for (int k = 0; k < keys; ++k) db.put("key" + std::to_string(k), history_value(k, round));
    db.close();
  }
  std::vector<std::uint32_t> sealed = ids_of(*env.directory(), filename::Kind::hint);
  const auto data = ids_of(*env.directory(), filename::Kind::data);
  if (!sealed.empty() && sealed.back() == data.back()) sealed.pop_back();  // hinted at close
  return sealed;
}

// Offsets of the records of a datafile image (walking the headers; no CRC check).
inline std::vector<std::uint64_t> record_offsets(const std::string& bytes) {
  std::vector<std::uint64_t> out;
  for (std::uint64_t at = format::kFileHeaderSize; at + format::kRecordHeaderSize <= bytes.size();) {
    const auto header = format::decode_record_header(reinterpret_cast<const std::byte*>(bytes.data() + at));
    if (header.type == format::RecordType::none) break;
    out.push_back(at);
    at += header.record_size();
  }
  return out;
}

}  // namespace pyk::test
