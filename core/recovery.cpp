// Opening a store: rebuild the keydir by replaying every segment, oldest to
// newest (from its hint file when it has a good one), and cut a torn tail off
// the newest one.
#include <algorithm>
#include <array>
#include <cerrno>
#include <optional>

#include "core/error.h"
#include "core/filename.h"
#include "core/hint_file.h"
#include "core/replay_order.h"
#include "core/store_impl.h"

namespace pyk {

void Store::Impl::open() {
  if (options_.max_key_size == 0 || options_.max_key_size > format::kMaxKeySize)
    throw InvalidArgument("max_key_size must be 1.." + std::to_string(format::kMaxKeySize));
  if (options_.max_value_size > format::kMaxValueSize)
    throw InvalidArgument("max_value_size must be at most " +
                          std::to_string(format::kMaxValueSize));
  if (options_.max_segment_size < 4096 || options_.max_segment_size > (2ull << 30))
    throw InvalidArgument("max_segment_size must be between 4 KiB and 2 GiB");
  if (!(options_.merge_dead_fraction >= 0 && options_.merge_dead_fraction <= 1))
    throw InvalidArgument("merge_dead_fraction must be between 0 and 1");
  if (options_.sync == SyncPolicy::interval && options_.sync_interval.count() <= 0)
    throw InvalidArgument("sync_interval must be positive");

  directory_ = options_.directory
                   ? options_.directory
                   : open_directory(options_.backend, path_,
                                    options_.create_if_missing && !options_.read_only);
  if (!options_.read_only) lock_ = directory_->lock(std::string(filename::kLock));

  for (const auto& name : directory_->list()) {
    // Leftovers of an interrupted merge or hint write: never referenced by the keydir.
    if (filename::parse(name).kind == filename::Kind::temp && !options_.read_only) {
      directory_->remove(name);
      log("removed unfinished file " + name);
    }
  }
  // Replay in (rank, id) order: a merge output replays right after its
  // inputs, before anything written since (format.h, "Replay order").
  const std::vector<ReplayPosition> order = replay_order(*directory_);
  std::vector<std::uint32_t> ids;
  for (const auto& position : order) ids.push_back(position.id);
  if (!ids.empty()) next_segment_id_ = *std::max_element(ids.begin(), ids.end()) + 1;
  // Size the keydir once: growing it rehashes every key, reading each back
  // from the arena (most of the time of a large open).
  std::uint64_t hinted_keys = 0;
  for (const std::uint32_t id : ids) hinted_keys += hint::peek_entry_count(*directory_, id);
  keydir_.reserve(std::max(hinted_keys, options_.expected_keys));
  for (std::size_t i = 0; i < order.size(); ++i) {
    load_segment(order[i].id, i + 1 == order.size());
  }
  // Dead bytes follow from the rest; hint-loaded segments never saw theirs.
  for (auto& [id, state] : segments_) {
    auto& st = state.stats;
    st.dead_bytes = st.bytes - std::min<std::uint64_t>(st.bytes, format::kFileHeaderSize) - st.live_bytes;
  }

  if (!options_.read_only) {
    remove_orphan_hints();
    // Keep appending to the newest segment if it has room, else start one.
    // Only a segment opened for appending qualifies: not a merge output, not
    // a torn creation that got removed, not one sealed with a hint at close.
    SegmentState* newest = nullptr;
    if (!order.empty() && segments_.count(order.back().id)) newest = &segments_[order.back().id];
    const bool opened_writable = newest && newest->rank == newest->stats.id;
    if (opened_writable && !newest->hinted &&
        newest->segment->size() < options_.max_segment_size) {
      active_ = newest->segment;
      active_id_ = newest->stats.id;
      active_state_ = newest;
      newest->stats.active = true;
      // A hint that was rejected (stale, damaged) must not outlive the appends.
      const std::string hint_name = filename::hint(active_id_);
      if (directory_->remove(hint_name)) directory_->sync();
    } else {
      if (opened_writable) {  // full, or sealed at close: seal it like a rotation would
        newest->segment->seal();
        if (!newest->hinted) enqueue({Job::Kind::hint, newest->stats.id});
      }
      start_new_segment();
    }
    if (options_.sync == SyncPolicy::interval) {
      sync_thread_ = std::jthread([this](std::stop_token stop) { sync_loop(stop); });
    }
    worker_ = std::jthread([this](std::stop_token stop) { worker_loop(stop); });
  }
  open_ = true;
}

namespace {

// True if every byte of `segment` from `offset` on is zero (or there are none).
bool zero_from(const Segment& segment, std::uint64_t offset) {
  std::array<std::byte, 64 * 1024> buffer;
  for (std::uint64_t at = offset; at < segment.size();) {
    const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(buffer.size(), segment.size() - at));
    const auto bytes = segment.read(at, n, buffer);
    if (!std::all_of(bytes.begin(), bytes.end(), [](std::byte b) { return b == std::byte{0}; }))
      return false;
    at += n;
  }
  return true;
}

}  // namespace

std::uint32_t Store::Impl::read_rank(std::uint32_t id) {
  return read_replay_rank(*directory_, id);  // load_segment judges a damaged header
}

void Store::Impl::load_segment(std::uint32_t id, bool is_newest) {
  const std::string name = filename::data(id);
  // Only the newest segment in replay order may be appended to, and only if
  // it is not a merge output (appending to one would break replay order).
  const bool writable = is_newest && !options_.read_only && read_rank(id) == id;
  std::shared_ptr<Segment> segment =
      directory_->open(name, writable ? OpenMode::append : OpenMode::read_only);

  std::array<std::byte, format::kFileHeaderSize> header_bytes{};
  const std::size_t header_present =
      std::min<std::uint64_t>(segment->size(), format::kFileHeaderSize);
  segment->read_into(0, std::span(header_bytes).first(header_present));
  format::FileHeader header;
  const auto status = format::decode_file_header(std::span(header_bytes).first(header_present), header);
  if (status != format::FileHeaderStatus::ok || header.magic != format::kDataMagic ||
      header.segment_id != id) {
    // A crash right after creating the newest segment can leave its header
    // torn or unwritten; it cannot hold any record yet. On mmap the file is
    // then zero-filled preallocated space, longer than a header.
    const bool unwritten = std::all_of(header_bytes.begin(), header_bytes.begin() + header_present,
                                       [](std::byte b) { return b == std::byte{0}; });
    const bool torn_creation =
        is_newest &&
        (unwritten || (status != format::FileHeaderStatus::bad_magic &&
                       status != format::FileHeaderStatus::bad_version)) &&
        zero_from(*segment, format::kFileHeaderSize);
    if (!torn_creation) {
      const char* why = status != format::FileHeaderStatus::ok ? format::describe(status)
                        : header.magic != format::kDataMagic   ? "hint file where a datafile belongs"
                                                               : "segment id does not match file name";
      throw CorruptionError(std::string("bad file header: ") + why, segment->describe(), 0);
    }
    log("segment " + segment->describe() + " has a torn header from an interrupted creation" +
        (options_.read_only ? "; ignored" : "; removed"));
    segment.reset();
    if (!options_.read_only) directory_->remove(name);
    return;
  }

  auto& state = segments_[id];
  state.segment = segment;
  state.stats.id = id;
  state.rank = replay_rank(header, id);

  // The newest segment has a hint only if a clean close sealed it (see
  // Impl::close); its size then matches exactly, so there is no torn tail.
  if (load_from_hint(id, /*report_missing=*/!is_newest)) {
    state.hinted = true;
    return;
  }

  // Records of a batch are held back until the whole batch has been read.
  struct Pending {
    format::RecordType type;
    std::string key;
    std::uint64_t offset, size, expiry;
  };
  std::vector<Pending> batch;
  bool in_batch = false;
  std::uint64_t batch_start = 0;  // offset of the open batch's header
  std::uint64_t batch_count = 0, batch_end = 0;
  std::uint64_t committed_end = format::kFileHeaderSize;  // end of the last complete unit
  std::optional<Damage> tail;

  RecordReader reader(*segment, format::kFileHeaderSize);
  for (;;) {
    const auto step = reader.next();
    if (step == RecordReader::Step::end) break;
    if (step == RecordReader::Step::damage) {
      if (!is_newest || !reader.damage().at_tail)
        throw CorruptionError(reader.damage().reason, segment->describe(), reader.damage().offset);
      tail = reader.damage();
      break;
    }
    const Record& r = reader.record();
    if (r.header.type == format::RecordType::batch) {
      if (in_batch) throw CorruptionError("batch inside a batch", segment->describe(), r.offset);
      const auto* v = reinterpret_cast<const std::byte*>(r.value.data());
      in_batch = true;
      batch_start = r.offset;
      batch_count = format::load_le<std::uint32_t>(v);
      batch_end = r.offset + r.size() + format::load_le<std::uint64_t>(v + 8);
      batch.clear();
      // The header itself is dead weight once applied.
      segments_[id].stats.dead_bytes += r.size();
    } else if (in_batch) {
      batch.push_back({r.header.type, std::string(r.key), r.offset, r.size(), r.header.expiry});
    } else {
      replay(id, state.stats, r.header.type, r.key, r.offset, r.size(), r.header.expiry);
    }
    if (in_batch && batch.size() == batch_count) {
      if (reader.valid_end() != batch_end)
        throw CorruptionError("batch length does not match its records", segment->describe(),
                              batch_start);
      for (const auto& p : batch) replay(id, state.stats, p.type, p.key, p.offset, p.size, p.expiry);
      in_batch = false;
    }
    if (!in_batch) committed_end = reader.valid_end();
  }
  if (in_batch) {
    // A batch cut short (at the end of the data, or by a torn tail) is dropped whole.
    if (!is_newest) throw CorruptionError("incomplete batch", segment->describe(), batch_start);
    segments_[id].stats.dead_bytes -= format::kRecordHeaderSize + 16;
    if (!tail) tail = Damage{batch_start, 0, "incomplete batch", true};
  }
  if (tail) {
    const std::uint64_t dropped = segment->size() - committed_end;
    ++recovery_stats_.torn_tails_dropped;
    recovery_stats_.torn_bytes_dropped += dropped;
    log("torn tail of " + std::to_string(dropped) + " bytes (" + tail->reason + ") at " +
        segment->describe() + " offset " + std::to_string(committed_end) +
        (writable ? ": cut off" : ": ignored (read-only)"));
  } else {
    committed_end = reader.valid_end();  // a zero-filled tail is not damage
  }
  // Drop a torn tail, or the zero-filled space an mmap segment preallocated.
  if (writable && committed_end < segment->size()) segment->truncate(committed_end);
  segments_[id].stats.bytes = writable ? segment->size() : committed_end;
  // A sealed segment scanned for want of a hint gets one, so the next open is fast.
  if (!is_newest && !options_.read_only) enqueue({Job::Kind::hint, id});
}

bool Store::Impl::load_from_hint(std::uint32_t id, bool report_missing) {
  auto& state = segments_[id];
  std::string problem;
  const auto hint = hint::HintFile::load(*directory_, id, state.segment->size(), problem);
  if (!hint) {
    if (report_missing || problem != hint::kMissing)
      log("segment " + state.segment->describe() + ": " + problem + "; scanning the datafile");
    return false;
  }
  hint->for_each([&](const format::HintEntry& e) {
    replay(id, state.stats,
           e.type == format::HintType::value ? format::RecordType::value
                                             : format::RecordType::tombstone,
           e.key, e.offset, e.record_size, e.expiry);
  });
  state.stats.bytes = state.segment->size();
  ++recovery_stats_.segments_from_hints;
  return true;
}

void Store::Impl::remove_orphan_hints() {
  // A crash between removing a merged segment's hint and its datafile (or a
  // hint renamed for a segment merged meanwhile) leaves a hint with no datafile.
  for (const auto& name : directory_->list()) {
    const auto parsed = filename::parse(name);
    if (parsed.kind == filename::Kind::hint && !segments_.count(parsed.segment_id)) {
      directory_->remove(name);
      log("removed hint file " + name + " of a missing datafile");
    }
  }
}

void Store::Impl::replay(std::uint32_t segment_id, SegmentStats& home, format::RecordType type,
                         std::string_view key, std::uint64_t offset, std::uint64_t size,
                         std::uint64_t expiry) {
  const auto size32 = static_cast<std::uint32_t>(size);
  if (type == format::RecordType::value) {
    const Location location{segment_id, static_cast<std::uint32_t>(offset), size32, expiry};
    account(keydir_.put(key, location), &location, home, size32);
  } else {
    account(keydir_.erase(key), nullptr, home, size32);
  }
}

void Store::Impl::start_new_segment() {
  if (unfinished_segment_) {  // see below: must go before a newer segment exists
    directory_->remove(*unfinished_segment_);
    unfinished_segment_.reset();
  }
  const std::uint32_t id = next_segment_id_++;
  const std::string name = filename::data(id);
  std::shared_ptr<Segment> segment = directory_->create(name, options_.max_segment_size);
  try {
    const auto header = format::encode_file_header(format::kDataMagic, id);
    segment->append(header);
    segment->sync();
    directory_->sync();  // the new file's directory entry must survive a crash too
  } catch (...) {
    // Take the half-made file back: left behind, it would sit before the
    // next segment with a torn header, which open rejects as corruption.
    // If removing fails too, the next attempt removes it first (until then
    // it stays the newest file, which open drops as a torn creation).
    segment.reset();
    try {
      directory_->remove(name);
    } catch (...) {
      unfinished_segment_ = name;  // the original error is the one to report
    }
    throw;
  }
  std::unique_lock state_lock(state_mutex_);
  auto& state = segments_[id];
  state.segment = segment;
  state.stats.id = id;
  state.stats.bytes = segment->size();
  state.stats.active = true;
  state.rank = id;
  active_ = std::move(segment);
  active_id_ = id;
  active_state_ = &state;
}

}  // namespace pyk
