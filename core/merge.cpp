// Merge (compaction): copy the live records of sealed segments into new
// segments, point the keydir at the copies, remove the old segments.
//
// Why it is correct, including after a crash at any point:
// - Outputs take fresh ids but the replay rank of their newest input
//   (format.h, "Replay order"): they replay after every input and before
//   every segment written since the merge began. So while inputs and outputs
//   coexist (a crash before the inputs are removed) replay still ends at each
//   key's newest record.
// - Inputs are durable before anything is copied (a rotation leaves its
//   sync to the background: merge does it first if that has not run yet).
// - An output is written under a .tmp name, sealed (synced), renamed, and the
//   directory synced before any input is removed.
// - Outputs are listed in the manifest, and the inputs left out of it, in
//   one atomic manifest rewrite before any input is removed: open replays
//   only listed segments, so a crash leaves the inputs or the outputs, and a
//   listed segment that is missing is always a lost file, never a merge.
// - Inputs are then removed oldest first, each removal made durable before
//   the next (for a store opened by a pyk that reads no manifest).
// - A tombstone is dropped only when every segment older than it is an input
//   (no older record of its key survives the merge); otherwise it is copied,
//   or a deleted key would come back.
// - Online: records are copied under no lock but a brief shared one per
//   record; the keydir is switched to a copy only if the key still points at
//   the record copied, so a key written meanwhile keeps its newest value.
#include <algorithm>
#include <functional>
#include <boost/unordered/unordered_flat_set.hpp>

#include "core/error.h"
#include "core/filename.h"
#include "core/hint_file.h"
#include "core/log_reader.h"
#include "core/store_impl.h"

namespace pyk {
namespace {

struct Input {
  std::uint32_t id;
  std::shared_ptr<Segment> segment;
  // Every older segment is an input too, so no older record of a key survives
  // the merge: tombstones and expired values can go.
  bool drops_tombstones;
};

// A value copied to an output: switched in the keydir if it is still the
// newest. A merge holds one per value copied into the output being written
// (1.8M for a 256 MiB output of 148-byte records), so it is kept small: its
// key lies in a buffer shared by the output's moves, and its place in the
// output has the size and expiry of the record it came from. (A Move with
// its own std::string key and two Locations took 112 bytes with the key's
// heap block: about 225 MB for one output, all of it in a merge's peak RSS.)
struct Move {
  std::uint32_t key_at, key_size;  // in the output's key buffer
  std::uint32_t from_segment, from_offset;
  std::uint32_t size, to_offset;
  std::uint64_t expiry;
  Location from() const { return {from_segment, from_offset, size, expiry}; }
  Location to(std::uint32_t output) const { return {output, to_offset, size, expiry}; }
};

constexpr std::size_t kFlushBytes = 1 << 20;
constexpr std::size_t kSwitchChunk = 4096;  // keydir updates per exclusive lock

// Runs `drop` when the copy phase ends, by an exception or not.
struct UnfinishedOutput {
  std::function<void()> drop;
  ~UnfinishedOutput() { drop(); }
};

bool same_record(const Location& a, const Location& b) {
  return a.segment == b.segment && a.offset == b.offset;
}

}  // namespace

Store::MergeResult Store::Impl::merge() {
  check_writable();
  std::lock_guard maintenance(maintenance_mutex_);
  check_open();
  const std::vector<std::uint32_t> ids = merge_inputs();
  if (ids.empty()) return {};
  return merge_segments(ids);
}

void Store::Impl::seal_active() {
  check_writable();
  std::lock_guard write_lock(write_mutex_);
  check_open();
  writer_->seal_if_used();
}

Store::MergeResult Store::Impl::merge_segments(const std::vector<std::uint32_t>& ids,
                                               bool throttled) {
  // Gone for good before the inputs are chosen: the inputs may then be the
  // oldest data again, and drop their tombstones.
  remove_retired_leftovers();

  // 1. The inputs in replay order, and the rank the outputs take.
  std::vector<Input> inputs;
  std::uint32_t output_rank = 0;
  {
    std::shared_lock state_lock(state_mutex_);
    bool prefix = true;
    for (const SegmentSet::Entry* state : segments_.in_replay_order()) {
      // A retired segment (an earlier merge failed to remove it) is never in
      // `ids` (SegmentSet::sealed, merge_candidates), but it is older data
      // that ends the prefix: no tombstone is dropped over it.
      const bool chosen = std::find(ids.begin(), ids.end(), state->stats.id) != ids.end();
      if (!chosen || segments_.is_active(state->stats.id)) {
        prefix = false;
        continue;
      }
      inputs.push_back({state->stats.id, state->segment, prefix});
      output_rank = std::max(output_rank, state->rank);
    }
  }
  if (inputs.empty()) return {};
  // Inputs must be durable: the outputs leave out what a newer record
  // overwrote, and if that newer record and the input's own copy of the old
  // one were both unsynced, a power cut could take both. A rotation leaves
  // its sync to the background; do it now if that has not run yet.
  // (The manifest may go on listing them unsynced: that only allows more.)
  for (const Input& input : inputs) sync_sealed(input.id);

  // 2. Copy.
  const std::uint64_t now = now_micros();
  std::uint64_t bytes_in = 0, bytes_out = 0;
  std::size_t outputs_made = 0;
  std::shared_ptr<Segment> out;  // the output being written, under its .tmp name
  std::uint32_t out_id = 0;
  std::uint64_t out_size = 0;
  std::string pending;  // encoded records not yet appended to `out`
  std::vector<Move> moves;
  std::string move_keys;  // the keys of `moves`, one after another
  std::vector<std::pair<std::string, Location>> expired_keys;
  boost::unordered_flat_set<std::string> tombstones_copied;

  // Paced before each chunk is written, the output's last one too (a
  // segment smaller than a chunk would otherwise never be paced): the
  // writers keep the disk.
  auto append_paced = [&] {
    if (pending.empty()) return;
    if (throttled && !merge_limiter_.request(pending.size())) throw MergeStopped{};
    out->append(format::as_bytes(pending));
    pending.clear();
  };

  auto finish_output = [&] {
    if (!out) return;
    append_paced();
    out->seal();
    const std::string name = filename::data(out_id);
    directory_->rename(filename::temp(name), name);
    // Durable before it is registered: any manifest written from here on
    // (a rotation's) may list it.
    directory_->sync();
    // Registered at once: from here on it is part of the store (and of later
    // merges), even if something below fails.
    std::shared_ptr<Segment> segment = std::move(out);
    {
      StateWriteLock state_lock(*this);
      // Dead until its keys are switched over below.
      segments_.count_dead(segments_.add(out_id, segment, output_rank),
                           out_size - format::kFileHeaderSize);
    }
    bytes_out += out_size;
    ++outputs_made;
    try {
      hint::write(*directory_, out_id, *segment);
    } catch (const std::exception& e) {  // the output is fine without one: scanned at open
      log("merge: writing hint file of segment " + std::to_string(out_id) + " failed: " + e.what());
    }
    // Switch the keydir over, a chunk per exclusive lock so readers never wait long.
    for (std::size_t i = 0; i < moves.size(); i += kSwitchChunk) {
      std::lock_guard write_lock(write_mutex_);  // every keydir change takes it (store_impl.h)
      StateWriteLock state_lock(*this);
      for (std::size_t j = i; j < std::min(moves.size(), i + kSwitchChunk); ++j) {
        const Move& m = moves[j];
        const std::string_view key = std::string_view(move_keys).substr(m.key_at, m.key_size);
        const Location from = m.from(), to = m.to(out_id);
        const auto now_at = keydir_.find(key);
        if (!now_at || !same_record(*now_at, from)) continue;  // written meanwhile: newer wins
        keydir_.put(key, to);
        segments_.count_move(from, to);
      }
    }
    moves.clear();
    move_keys.clear();
  };

  // Appends `r` to the output; `from` is set for a value the keydir should follow.
  auto copy = [&](const Record& r, const Location* from) {
    if (out && out_size + r.size() > options_.max_segment_size &&
        out_size > format::kFileHeaderSize) {
      finish_output();
    }
    if (!out) {
      out_id = next_segment_id_++;
      out = directory_->create(filename::temp(filename::data(out_id)), options_.max_segment_size);
      out->append(format::encode_file_header(format::kDataMagic, out_id, output_rank));
      out_size = format::kFileHeaderSize;
    }
    const auto to_offset = static_cast<std::uint32_t>(out_size);
    format::encode_record(pending, r.header.type, r.key, r.value, r.header.timestamp,
                          r.header.expiry);
    out_size += r.size();
    if (pending.size() >= kFlushBytes) append_paced();
    if (from != nullptr) {
      moves.push_back({static_cast<std::uint32_t>(move_keys.size()), static_cast<std::uint32_t>(r.key.size()),
                       from->segment, from->offset, from->size, to_offset, from->expiry});
      move_keys.append(r.key);
    }
  };

  // If copying fails (a full disk, say), the output being written goes: its
  // .tmp would only take space until the next open. Every input stays, and
  // outputs finished before are part of the store already.
  const UnfinishedOutput unfinished{[&]() noexcept {
    if (!out) return;  // none, or finished
    out.reset();
    const std::string name = filename::temp(filename::data(out_id));
    try {
      directory_->remove(name);
      log("merge failed: removed its unfinished output " + name + "; every input is kept");
    } catch (const std::exception& e) {
      log("merge failed, and removing its unfinished output " + name + " failed: " + e.what());
    }
  }};

  for (const Input& input : inputs) {
    bytes_in += input.segment->size();
    // A sealed segment must be whole; its batches are complete, so their
    // records are copied one by one like any other.
    LogReader reader(*input.segment, LogReader::Mode::strict);
    while (reader.next()) {
      for (const Record& r : reader.unit().records) {
        const Location here{input.id, static_cast<std::uint32_t>(r.offset),
                            static_cast<std::uint32_t>(r.size()), r.header.expiry};
        if (r.header.type == format::RecordType::value) {
          // Through the read gate, as gets look up: a put then never sleeps
          // in state_mutex_ behind a merge (cf. write_hint).
          const bool live = gate_.lookup(state_mutex_, [&] {
            const auto at = keydir_.find(r.key);
            return at && same_record(*at, here);
          });
          if (!live) continue;  // overwritten or erased
          // Dropping an expired value is like dropping a tombstone: only safe
          // if no older record of the key survives. Otherwise it is copied (and
          // stays expired).
          if (expired(here, now) && input.drops_tombstones) {
            expired_keys.emplace_back(std::string(r.key), here);
            continue;
          }
          copy(r, &here);
        } else if (r.header.type == format::RecordType::tombstone) {
          if (input.drops_tombstones) continue;  // nothing older survives for it to shadow
          // A newer value shadows the older ones anyway.
          if (gate_.lookup(state_mutex_, [&] { return keydir_.find(r.key).has_value(); })) continue;
          if (!tombstones_copied.emplace(r.key).second) continue;
          copy(r, nullptr);
        }
      }
    }
  }
  finish_output();

  // 3. Expired keys go from the keydir (unless written again meanwhile).
  for (std::size_t i = 0; i < expired_keys.size(); i += kSwitchChunk) {
    std::lock_guard write_lock(write_mutex_);
    StateWriteLock state_lock(*this);
    for (std::size_t j = i; j < std::min(expired_keys.size(), i + kSwitchChunk); ++j) {
      const auto& [key, from] = expired_keys[j];
      const auto now_at = keydir_.find(key);
      if (!now_at || !same_record(*now_at, from)) continue;
      keydir_.erase(key);
      segments_.count_expired_drop(from);
    }
  }

  // 4. Remove the inputs, oldest first, each durably before the next.
  // First make durable every write so far: a record left out as overwritten
  // may be shadowed only by a newer one that is still unsynced in the active
  // segment, and a power cut must not lose both.
  sync();
  // The inputs that hold no live key any more (all of them, unless the
  // keydir and the files disagree) leave the manifest first, with the
  // outputs listed, and only then are their files removed: a crash in
  // between leaves unlisted files that open ignores, never a listed one lost.
  std::vector<const Input*> removable;
  {
    StateWriteLock state_lock(*this);
    for (const Input& input : inputs) {
      SegmentSet::Entry& entry = *segments_.find(input.id);
      if (entry.stats.live_keys != 0) {
        // Cannot happen if the keydir and the files agree; keep this and every
        // newer input rather than lose data.
        log("merge: segment " + input.segment->describe() + " still holds " +
            std::to_string(entry.stats.live_keys) + " live keys; it and newer inputs are kept");
        break;
      }
      entry.retired = true;
      removable.push_back(&input);
    }
  }
  try {
    write_manifest();
  } catch (...) {
    StateWriteLock state_lock(*this);
    for (const Input* input : removable) segments_.find(input->id)->retired = false;
    throw;
  }
  // Oldest first, each removal durable before the next. An input is
  // forgotten only once its removal is durable: while its file may still be
  // on disk it keeps counting as older data, so a later merge does not drop
  // tombstones that still shadow its records. A later open ignores it.
  // If a removal fails, that input and the later ones stay retired: out of
  // the manifest, never an input again, removed by the next merge.
  for (const Input* input : removable) remove_retired(input->id);
  ++merges_;
  const Store::MergeResult result{inputs.size(), outputs_made, bytes_in, bytes_out};
  log("merged " + std::to_string(inputs.size()) + " segments (" + std::to_string(bytes_in) +
      " bytes) into " + std::to_string(outputs_made) + " (" + std::to_string(bytes_out) +
      " bytes)");
  return result;
}

void Store::Impl::remove_retired(std::uint32_t id) {
  for (const std::string& name : {filename::hint(id), filename::data(id)}) directory_->remove(name);
  directory_->sync();
  DroppedSegments removed(gate_);  // a get may still be reading it
  StateWriteLock state_lock(*this);
  removed.add(segments_.remove(id));
}

void Store::Impl::remove_retired_leftovers() {
  std::vector<std::uint32_t> retired;
  {
    std::shared_lock state_lock(state_mutex_);
    for (const SegmentSet::Entry* entry : segments_.in_replay_order())
      if (entry->retired) retired.push_back(entry->stats.id);
  }
  for (const std::uint32_t id : retired) {  // oldest first, as merges remove them
    try {
      remove_retired(id);
    } catch (const IoError& e) {
      log("merge: removing segment " + std::to_string(id) + ", merged earlier, failed again (" +
          e.what() + "); it stays out of the manifest and out of merges");
      return;
    }
  }
}

}  // namespace pyk
