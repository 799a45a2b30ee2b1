// Showing bytes safely: printable escaping, JSON strings, base64, hex dumps
// and ISO 8601 times. Shared by pyk-dump, pyk-fsck and pyk.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace pyk::tools {

// Printable ASCII and valid UTF-8 (printable code points) as is, backslash
// doubled, \n \r \t as such, every other byte as \xHH. Cut to `max_bytes`
// input bytes (0 = no limit), marked "...".
std::string escape_text(std::string_view bytes, std::size_t max_bytes = 0);

bool is_valid_utf8(std::string_view bytes);

// A quoted JSON string (control characters escaped). Exact for valid UTF-8;
// other bytes >= 0x80 become \u00XX (lossy: use base64 for data).
std::string json_string(std::string_view utf8);

std::string base64_encode(std::string_view bytes);
// nullopt on a character outside the alphabet or bad padding.
std::optional<std::string> base64_decode(std::string_view text);

// Classic hex dump, 16 bytes a line, each line prefixed by `indent` and the
// offset (starting at `base`).
std::string hex_dump(std::string_view bytes, std::uint64_t base, std::string_view indent);

// Microseconds since the epoch as "2026-01-01T00:00:00.000000Z".
std::string iso_time_micros(std::uint64_t micros);

// Parses "30s", "5m", "2h", "1d", "500ms" or plain seconds; nullopt if malformed or <= 0.
std::optional<std::uint64_t> parse_duration_micros(std::string_view text);

}  // namespace pyk::tools
