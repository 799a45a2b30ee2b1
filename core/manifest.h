// The manifest: which segments a store must have, and how long each sealed
// one is (layout in format.h, "Manifest"). Store::open holds the datafiles it
// finds to it (core/segment_check.h), so a lost or truncated segment is
// refused instead of silently exposing older values, and pyk-fsck reports the
// same findings.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/directory.h"

namespace pyk {

struct ManifestEntry {
  std::uint32_t id = 0;
  bool active = false;       // the segment appended to
  std::uint64_t length = 0;  // sealed: the exact file size; active, unsynced: a minimum
  // Sealed by a rotation, its sync still to come (in the background), or a
  // spare made ahead for a rotation to take: it may end in a torn tail,
  // like the active one.
  bool unsynced = false;
  // Its length is only a minimum: what follows may be torn by a power cut.
  bool open_ended() const { return active || unsynced; }
  bool operator==(const ManifestEntry&) const = default;
};

struct Manifest {
  std::uint64_t generation = 0;
  std::vector<ManifestEntry> segments;  // ascending id

  // The entry of segment `id`, or null if it is not listed.
  const ManifestEntry* find(std::uint32_t id) const;
  // The highest listed id (0 if none).
  std::uint32_t newest_id() const;
  // The same segments (the generation aside).
  bool same_segments(const Manifest& other) const { return segments == other.segments; }
};

namespace manifest {

std::string encode(const Manifest& manifest);
// Decodes a whole MANIFEST image; nullptr if valid, else the reason.
const char* decode(std::span<const std::byte> bytes, Manifest& out);

// The store's MANIFEST: nullopt if there is none (a new store, or one written
// before pyk kept a manifest); `problem` set if it exists but does not decode.
// Throws IoError.
std::optional<Manifest> read(Directory& directory, std::string& problem);

// Replaces MANIFEST durably: MANIFEST.tmp written and synced, renamed over
// it, the directory synced. A crash leaves the old or the new one, whole.
// Throws IoError.
void write(Directory& directory, const Manifest& manifest);

}  // namespace manifest
}  // namespace pyk
