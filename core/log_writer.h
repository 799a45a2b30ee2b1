// LogWriter: the end of the log, where records are appended — the active
// segment, rotation into a new one when it is full (into a spare made ahead
// when there is one), and repair of an append that failed half-way (a short
// write must not leave bytes that recovery would see as damage in the middle
// of a segment).
//
// Not thread-safe: every call REQUIRES the store's write mutex.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/directory.h"
#include "core/keydir.h"
#include "core/segment.h"

namespace pyk {

class LogWriter {
 public:
  struct Events {
    // Segment `id`, durable, is the new active segment (register it with the
    // store and, unless it is a spare and `listed` already, list it in the
    // manifest). If it throws, the segment is not used, but stays: empty,
    // with a durable header.
    std::function<void(std::uint32_t id, const std::shared_ptr<Segment>& segment, bool listed)>
        started;
    // The active segment `id` was sealed by a rotation, without a sync (sync
    // it in the background, then hint it; maybe merge).
    std::function<void(std::uint32_t id)> sealed;
    // Fewer spares are ready than wanted and a rotation has taken one or
    // the active segment is half full: make more (add_spare), off the write path.
    std::function<void()> spare_wanted;
  };

  // Creates segment `id` with its header, durably (header synced, directory
  // synced). If that fails, the half-made file is removed, or, if removing
  // fails too, its name is left in `unfinished` and the error rethrown.
  static std::shared_ptr<Segment> create_segment(Directory& directory, std::uint32_t id,
                                                 std::uint64_t max_segment_size,
                                                 std::optional<std::string>& unfinished);

  // `next_id` is the store's id counter, shared with merge: ids are never
  // reused. `spares`: how many spares to keep ready (Options::spare_segments).
  LogWriter(Directory& directory, std::uint64_t max_segment_size, std::size_t spares,
            std::atomic<std::uint32_t>& next_id, Events events);

  // Keeps appending to segment `id`, recovered at open.
  void resume(std::uint32_t id, std::shared_ptr<Segment> segment);
  // Creates the next segment, durably (header synced, directory synced), and
  // makes it the active one. On failure nothing half-made is left behind, or
  // the next call removes it first.
  void start_segment();

  // Appends `encoded` (one record or one batch) as one unit, rotating first
  // if it would grow the active segment past the maximum, or starting a
  // segment if there is none (open could not make one: a full disk). Returns
  // where it landed (expiry left 0).
  Location append(std::string_view encoded);

  // Seals the active segment and starts the next one, unless it holds no
  // record yet. REQUIRES: an active segment.
  void seal_if_used();

  // A spare: segment `id`, made by create_segment and listed in the manifest
  // as open-ended, for a later rotation to take without any disk flush on
  // the write path. Refused (false) if a segment as new was started since
  // (its id must exceed the active one's: replay order is id order).
  bool add_spare(std::uint32_t id, std::shared_ptr<Segment> segment);
  std::size_t spare_count() const { return spares_.size(); }
  std::size_t spares_wanted() const { return spares_wanted_; }
  // Gives the spares up (close unlists and removes them).
  std::deque<std::pair<std::uint32_t, std::shared_ptr<Segment>>> take_spares() {
    return std::move(spares_);
  }

  // Null before open has set one up and after release().
  const std::shared_ptr<Segment>& active() const { return active_; }
  std::uint32_t active_id() const { return active_id_; }
  // Gives the active segment up (close, which has sealed it).
  std::shared_ptr<Segment> release() { return std::move(active_); }

 private:
  void rotate();
  void make_active(std::uint32_t id, std::shared_ptr<Segment> segment);

  Directory& directory_;
  const std::uint64_t max_segment_size_;
  const std::size_t spares_wanted_;
  std::atomic<std::uint32_t>& next_id_;
  const Events events_;
  std::shared_ptr<Segment> active_;
  std::uint32_t active_id_ = 0;
  // Where the active segment must be cut back to before the next append: set
  // when a failed append left part of a record and cutting it failed too.
  std::optional<std::uint64_t> torn_end_;
  // A segment whose creation failed half-way and could not be removed then;
  // start_segment removes it before making another.
  std::optional<std::string> unfinished_segment_;
  // Ready for the next rotations, oldest (lowest id) first.
  std::deque<std::pair<std::uint32_t, std::shared_ptr<Segment>>> spares_;
  bool spare_asked_ = false;  // spare_wanted was called for the active segment
};

}  // namespace pyk
