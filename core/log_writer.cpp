#include "core/log_writer.h"

#include <utility>

#include "core/filename.h"
#include "core/format.h"

namespace pyk {

LogWriter::LogWriter(Directory& directory, std::uint64_t max_segment_size, std::size_t spares,
                     std::atomic<std::uint32_t>& next_id, Events events)
    : directory_(directory),
      max_segment_size_(max_segment_size),
      spares_wanted_(spares),
      next_id_(next_id),
      events_(std::move(events)) {}

void LogWriter::resume(std::uint32_t id, std::shared_ptr<Segment> segment) {
  make_active(id, std::move(segment));
}

std::shared_ptr<Segment> LogWriter::create_segment(Directory& directory, std::uint32_t id,
                                                   std::uint64_t max_segment_size,
                                                   std::optional<std::string>& unfinished) {
  const std::string name = filename::data(id);
  std::shared_ptr<Segment> segment = directory.create(name, max_segment_size);
  try {
    segment->append(format::encode_file_header(format::kDataMagic, id));
    segment->sync();
    directory.sync();  // the new file's directory entry must survive a crash too
  } catch (...) {
    // Take the half-made file back: left behind, it would sit before the
    // next segment with a torn header, which open rejects as corruption.
    // If removing fails too, the caller removes it before making a newer
    // segment (until then it stays the newest file, which open drops as a
    // torn creation).
    segment.reset();
    try {
      directory.remove(name);
    } catch (...) {
      unfinished = name;  // the original error is the one to report
    }
    throw;
  }
  return segment;
}

void LogWriter::start_segment() {
  if (unfinished_segment_) {  // see create_segment: must go before a newer segment exists
    directory_.remove(*unfinished_segment_);
    unfinished_segment_.reset();
  }
  const std::uint32_t id = next_id_++;
  std::shared_ptr<Segment> segment =
      create_segment(directory_, id, max_segment_size_, unfinished_segment_);
  // Lists it in the manifest: only then may it take records. If that fails
  // the file stays, whole and empty: the manifest may list it already.
  events_.started(id, segment, false);
  make_active(id, std::move(segment));
}

void LogWriter::make_active(std::uint32_t id, std::shared_ptr<Segment> segment) {
  active_ = std::move(segment);
  active_id_ = id;
  spare_asked_ = false;
}

bool LogWriter::add_spare(std::uint32_t id, std::shared_ptr<Segment> segment) {
  if (id <= active_id_ || (!spares_.empty() && id <= spares_.back().first)) return false;
  spares_.emplace_back(id, std::move(segment));
  return true;
}

Location LogWriter::append(std::string_view encoded) {
  if (!active_) start_segment();
  if (torn_end_) {  // bytes of an earlier failed append that could not be cut yet
    active_->truncate(*torn_end_);
    torn_end_.reset();
  }
  const std::uint64_t start = active_->size();
  // A sealed active segment: the rotation that sealed it failed to start a new one.
  if (active_->sealed() ||
      (start > format::kFileHeaderSize && start + encoded.size() > max_segment_size_)) {
    rotate();
  }
  const std::uint64_t before = active_->size();
  std::uint64_t offset;
  try {
    offset = active_->append(format::as_bytes(encoded));
  } catch (...) {
    // A backend may land part of a failed append (a short write). Cut it off,
    // or the next record would follow bytes that recovery rejects as damage
    // in the middle of the segment. If that fails too, the next append
    // retries before writing anything.
    if (active_->size() != before) {
      try {
        active_->truncate(before);
      } catch (...) {
        torn_end_ = before;
      }
    }
    throw;
  }
  // Half full: time to have spares ready for the rotation ahead.
  if (!spare_asked_ && active_->size() > max_segment_size_ / 2 && spares_.size() < spares_wanted_) {
    spare_asked_ = true;
    events_.spare_wanted();
  }
  return Location{active_id_, static_cast<std::uint32_t>(offset),
                  static_cast<std::uint32_t>(encoded.size()), 0};
}

void LogWriter::seal_if_used() {
  if (torn_end_) {  // bytes of an earlier failed append that could not be cut yet
    active_->truncate(*torn_end_);
    torn_end_.reset();
  }
  if (active_->sealed() || active_->size() > format::kFileHeaderSize) rotate();
}

void LogWriter::rotate() {
  // Already sealed: an earlier rotation failed to start the new segment and
  // did this part; since then a merge may even have taken the segment away,
  // so it must not be touched again.
  if (!active_->sealed()) {
    // No fsync here, on the writer's path: the store syncs the segment in
    // the background, and any sync() before that covers it (GroupCommit).
    active_->seal_unsynced();
    events_.sealed(active_id_);
  }
  if (spares_.empty()) {
    start_segment();
  } else {
    // Made and listed ahead: no disk flush here. Behind a rotation's
    // background sync one took up to ~0.3 s (it waits for the disk's queue).
    events_.started(spares_.front().first, spares_.front().second, true);
    auto [id, segment] = std::move(spares_.front());
    spares_.pop_front();
    make_active(id, std::move(segment));
  }
  if (spares_.size() < spares_wanted_) events_.spare_wanted();
}

}  // namespace pyk
