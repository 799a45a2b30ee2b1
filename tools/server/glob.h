// Redis's glob patterns (KEYS, SCAN MATCH, CONFIG GET): * any run, ? any
// byte, [abc] [^abc] [a-z] a set, \x the byte x. Binary safe.
#pragma once

#include <string>
#include <string_view>

namespace pyk::server {

// Whether `text` matches `pattern`. Time O(|pattern| * |text|) at worst
// (no exponential backtracking on patterns like "*a*a*a*b").
bool glob_match(std::string_view pattern, std::string_view text);

// The literal bytes every match must start with ("user:*" -> "user:"), so a
// scan can filter by prefix before matching.
std::string glob_literal_prefix(std::string_view pattern);

}  // namespace pyk::server
