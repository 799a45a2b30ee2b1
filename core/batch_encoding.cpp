#include "core/batch_encoding.h"

#include "core/error.h"
#include "core/format.h"

namespace pyk {

EncodedBatch encode_batch(const WriteBatch& batch, std::uint64_t now) {
  std::string records;
  EncodedBatch out;
  out.records.reserve(batch.size());
  for (const auto& op : batch.ops()) {
    const std::uint64_t expiry = op.ttl.count() > 0 ? now + std::uint64_t(op.ttl.count()) : 0;
    const std::size_t start = records.size();
    format::encode_record(records,
                          op.erase ? format::RecordType::tombstone : format::RecordType::value,
                          op.key, op.erase ? std::string_view{} : std::string_view(op.value), now,
                          expiry);
    out.records.push_back({static_cast<std::uint32_t>(start),
                           static_cast<std::uint32_t>(records.size() - start), expiry});
  }
  format::encode_batch_header(out.bytes, {static_cast<std::uint32_t>(batch.size()), records.size()},
                              now);
  out.header_size = static_cast<std::uint32_t>(out.bytes.size());
  if (out.bytes.size() + records.size() > format::kMaxValueSize)
    throw InvalidArgument("batch of " + std::to_string(out.bytes.size() + records.size()) +
                          " bytes is too large");
  out.bytes += records;
  for (auto& placed : out.records) placed.offset += out.header_size;
  return out;
}

}  // namespace pyk
