// The keydir snapshot (file KEYDIR, layout in format.h "Keydir snapshot"):
// close saves the keydir's arena as it is, and the next open loads it at
// close to memory speed instead of replaying every hint file (the index
// checkpoint of FASTER; basho/bitcask#81: folding hints dominates startup).
// The table's lines are saved too, with the hash seed that placed them, so
// that open copies them back instead of inserting every key again (a table
// sized far beyond its keys is not saved: open indexes the chunks). Every
// table position is checked to be a live arena entry's, once each.
//
// A snapshot is an optimisation, never the truth: open uses it only if the
// manifest (generation and listing) and every datafile's size are exactly
// what it records, and it checks; anything else (stale, torn, damaged) is
// reported through `problem` and the hints are replayed as before.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/directory.h"
#include "core/keydir.h"
#include "core/manifest.h"

namespace pyk::keydir_snapshot {

// A listed segment and its datafile size, ascending id; load() adds up the
// keys (without an expiry) whose newest record it holds, and their bytes.
struct SegmentSize {
  std::uint32_t id = 0;
  std::uint64_t size = 0;
  std::uint64_t live_keys = 0;
  std::uint64_t live_bytes = 0;
};

inline constexpr std::string_view kMissing = "no keydir snapshot";

// Writes KEYDIR (to KEYDIR.tmp, renamed over it; nothing is synced). On
// failure no KEYDIR is left. REQUIRES: `manifest` is the store's MANIFEST
// and `sizes` its segments' sizes, all synced. Throws IoError.
void write(Directory& directory, const KeyDir& keydir, const Manifest& manifest,
           std::span<const SegmentSize> sizes);

// write() in two steps, for a snapshot of a manifest still to be written
// (close writes it beside the last hint): write_unpublished removes KEYDIR
// and leaves the new one in KEYDIR.tmp (nothing on failure); once `manifest`
// is the store's MANIFEST and its segments are synced, publish() renames it
// into place; discard() removes it instead. Throw IoError.
void write_unpublished(Directory& directory, const KeyDir& keydir, const Manifest& manifest,
                       std::span<const SegmentSize> sizes);
void publish(Directory& directory);
void discard(Directory& directory);

// Removes KEYDIR if there is one (a store about to change the files it describes).
void remove(Directory& directory);

// Loads KEYDIR into `keydir` (REQUIRES: empty) if it describes exactly
// `manifest` and `sizes` and every byte checks, and every location it holds
// lies inside its segment; counts the live keys into `sizes`, and gives
// the locations of keys with an expiry in `expiring`. Returns false with
// `problem` set (kMissing if there is none) and `keydir` cleared otherwise.
// Throws IoError.
bool load(Directory& directory, const Manifest& manifest, std::span<SegmentSize> sizes,
          KeyDir& keydir, std::vector<Location>& expiring, std::string& problem);

}  // namespace pyk::keydir_snapshot
