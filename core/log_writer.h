// LogWriter: the end of the log, where records are appended — the active
// segment, rotation into a new one when it is full, and repair of an append
// that failed half-way (a short write must not leave bytes that recovery
// would see as damage in the middle of a segment).
//
// Not thread-safe: every call REQUIRES the store's write mutex.
#pragma once

#include <atomic>
#include <cstdint>
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
    // store and list it in the manifest). If it throws, the segment is not
    // used, but stays: empty, with a durable header.
    std::function<void(std::uint32_t id, const std::shared_ptr<Segment>& segment)> started;
    // The active segment `id` was sealed by a rotation, without a sync (sync
    // it in the background, then hint it; maybe merge).
    std::function<void(std::uint32_t id)> sealed;
  };

  // `next_id` is the store's id counter, shared with merge: ids are never reused.
  LogWriter(Directory& directory, std::uint64_t max_segment_size,
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

  // Null before open has set one up and after release().
  const std::shared_ptr<Segment>& active() const { return active_; }
  std::uint32_t active_id() const { return active_id_; }
  // Gives the active segment up (close, which has sealed it).
  std::shared_ptr<Segment> release() { return std::move(active_); }

 private:
  void rotate();

  Directory& directory_;
  const std::uint64_t max_segment_size_;
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
};

}  // namespace pyk
