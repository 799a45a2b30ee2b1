// How Store::write lays a WriteBatch out in the log: a batch-header record
// (format.h) naming how many records and bytes follow, then one record per
// operation, appended as one unit so recovery can tell a complete batch.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/write_batch.h"

namespace pyk {

struct EncodedBatch {
  std::string bytes;             // the header record, then the records
  std::uint32_t header_size = 0;  // bytes of the header record
  struct Placed {
    std::uint32_t offset = 0;  // from the start of `bytes`
    std::uint32_t size = 0;    // whole record
    std::uint64_t expiry = 0;  // microseconds since the epoch, 0 = never
  };
  std::vector<Placed> records;  // one per operation, in order
};

// Encodes `batch` as written at `now` (microseconds since the epoch).
// Throws InvalidArgument if it is larger than one record may be.
EncodedBatch encode_batch(const WriteBatch& batch, std::uint64_t now);

}  // namespace pyk
