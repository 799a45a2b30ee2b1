// Hint files as the tools see them: checked with the engine's own checker
// (hint::check), against their datafile when it is there, and then each
// entry against the datafile's record at its offset.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "core/directory.h"

namespace pyk::tools {

struct HintCheck {
  const char* problem = nullptr;  // nullptr: valid (hint::check's reason otherwise)
  std::uint64_t entries = 0;
  bool against_datafile = false;  // false: no datafile, checked against the size it claims
};

// The datafile size the end entry of a hint file image claims, if its last
// format::kHintEndSize bytes decode (format::decode_hint_entry) as an end entry.
std::optional<std::uint64_t> claimed_data_size(std::span<const std::byte> bytes);

// Checks the image of the hint file of segment `id` with hint::check, against
// datafile `id` of `directory` if it exists, and then that each entry names
// the record at its offset there (its size, type, expiry and key). Throws IoError.
HintCheck check_hint_image(Directory& directory, std::uint32_t id, std::span<const std::byte> bytes);

// The segment id a hint file named `name` describes: from its name, else from
// its header (0 if neither says).
std::uint32_t hint_segment_id(const std::string& name, std::span<const std::byte> bytes);

}  // namespace pyk::tools
