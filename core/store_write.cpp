// The write side of Store::Impl: validation, appending through the
// LogWriter, applying each append to the keydir and segment accounting, and
// durability through GroupCommit.
#include <string>

#include "core/batch_encoding.h"
#include "core/error.h"
#include "core/store_impl.h"

namespace pyk {

void Store::Impl::validate(std::string_view key, std::string_view value) const {
  check_key(key);
  if (key.size() > options_.max_key_size)
    throw InvalidArgument("key of " + std::to_string(key.size()) + " bytes exceeds max_key_size " +
                          std::to_string(options_.max_key_size));
  if (value.size() > options_.max_value_size)
    throw InvalidArgument("value of " + std::to_string(value.size()) +
                          " bytes exceeds max_value_size " +
                          std::to_string(options_.max_value_size));
}

void Store::Impl::segment_started(std::uint32_t id, const std::shared_ptr<Segment>& segment,
                                  bool listed) {
  {
    StateWriteLock state_lock(*this);
    segments_.add(id, segment, id).min_length = format::kFileHeaderSize;
    segments_.set_active(id);
    std::erase(spare_ids_, id);
  }
  // A spare is listed already, open-ended like the active one: the manifest
  // on disk holds for it until the next rewrite lists it active.
  if (listed) return;
  spares_failing_ = false;  // a segment could be made: spares may be again
  try {
    write_manifest();
  } catch (...) {
    StateWriteLock state_lock(*this);
    (void)segments_.remove(id);  // no key points into it yet: no read to wait for
    throw;
  }
}

void Store::Impl::segment_sealed(std::uint32_t id) {
  {
    StateWriteLock state_lock(*this);
    segments_.clear_active();
    // Listed as unsynced (a torn tail allowed) until sync_sealed has synced it.
    if (SegmentSet::Entry* entry = segments_.find(id)) {
      entry->unsynced = true;
      unsynced_.emplace_back(id, entry->segment);
    }
  }
  maintenance_.enqueue({Job::Kind::hint, id});  // after the spares this rotation may ask for
  if (auto_merge()) {
    maintenance_.enqueue({Job::Kind::merge_check, 0});
  }
}

void Store::Impl::spare_wanted() {
  if (spares_failing_) return;
  if (!spare_job_queued_.exchange(true)) maintenance_.enqueue_first({Job::Kind::spare, 0});
}

void Store::Impl::put(std::string_view key, std::string_view value, std::uint64_t expiry) {
  check_writable();
  validate(key, value);
  const std::uint64_t key_hash = keydir_.hash(key);  // its seed changes only while a store opens
  thread_local std::string encoded;
  const auto encode = [&] {
    encoded.clear();
    format::encode_record(encoded, format::RecordType::value, key, value, write_time_micros(), expiry);
  };
  // A small record is encoded under write_mutex_, where the keydir's cache
  // misses can overlap it (below); a big one before, so that writers encode
  // (copy and checksum) side by side, and its append overlaps them instead.
  const bool encode_under_lock = key.size() + value.size() <= kEncodeUnderLockBytes;
  if (!encode_under_lock) encode();
  std::uint64_t sequence;
  {
    std::lock_guard write_lock(write_mutex_);
    check_open();
    // A small record: the key's table line loads while it is encoded, and
    // then the entry the line points to (an overwrite compares that key)
    // while it is appended. A big one, encoded already: the table line loads
    // while it is appended; the entry is not prefetched, as that would wait
    // for the line with nothing left to overlap. write_mutex_ lets this
    // thread read the keydir without the read gate, whose counts are locked
    // instructions (a put that took it for these two prefetches ran 7-9%
    // slower).
    keydir_.prefetch(key_hash);
    if (encode_under_lock) {
      encode();
      keydir_.prefetch_entry(key_hash);
    }
    sequence = append_and_apply(encoded, [&](Location at, SegmentSet::Entry& home) {
      at.expiry = expiry;
      segments_.count_put(home, keydir_.put(key, key_hash, at), at);
    });
  }
  wait_durable(sequence);
}

bool Store::Impl::erase(std::string_view key) {
  check_writable();
  check_key(key);
  thread_local std::string encoded;
  encoded.clear();
  const std::uint64_t now = now_micros();
  format::encode_record(encoded, format::RecordType::tombstone, key, {}, now, 0);
  std::uint64_t sequence;
  {
    std::lock_guard write_lock(write_mutex_);  // no other writer between check and append
    check_open();
    const auto found = keydir_.find(key);  // write_mutex_ is lock enough to read it
    if (!found || expired(*found, now)) return false;
    sequence = append_and_apply(encoded, [&](const Location& at, SegmentSet::Entry& home) {
      segments_.count_erase(home, keydir_.erase(key), at.size);
    });
  }
  wait_durable(sequence);
  return true;
}

void Store::Impl::write(const WriteBatch& batch) {
  check_writable();
  if (batch.empty()) return;
  const std::uint64_t now = now_micros();
  for (const auto& op : batch.ops()) validate(op.key, op.value);  // WriteBatch checked the TTLs
  const EncodedBatch encoded = encode_batch(batch, now);
  std::uint64_t sequence;
  {
    std::lock_guard write_lock(write_mutex_);
    check_open();
    sequence = append_and_apply(encoded.bytes, [&](const Location& at, SegmentSet::Entry& home) {
      segments_.count_dead(home, encoded.header_size);
      for (std::size_t i = 0; i < batch.ops().size(); ++i) {
        const auto& op = batch.ops()[i];
        const auto& placed = encoded.records[i];
        const Location location{at.segment, at.offset + placed.offset, placed.size, placed.expiry};
        if (op.erase) {
          segments_.count_erase(home, keydir_.erase(op.key), placed.size);
        } else {
          segments_.count_put(home, keydir_.put(op.key, location), location);
        }
      }
    });
  }
  wait_durable(sequence);
}

void Store::Impl::sync() {
  check_open();
  if (options_.read_only) return;
  commit_.sync_all();
}

}  // namespace pyk
