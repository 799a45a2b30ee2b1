// Reading command arguments the way Redis does.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace pyk::server {

// A signed 64-bit decimal, strictly: optional '-', no '+', no spaces, no
// leading zeros (Redis's string2ll). nullopt if it is anything else.
std::optional<long long> parse_integer(std::string_view s);
// An unsigned 64-bit decimal (SCAN cursors).
std::optional<unsigned long long> parse_unsigned(std::string_view s);

std::string to_upper(std::string_view s);
bool equals_ignoring_case(std::string_view a, std::string_view b);

}  // namespace pyk::server
