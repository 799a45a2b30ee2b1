#include "tools/server/arguments.h"

#include <charconv>

namespace pyk::server {

std::optional<long long> parse_integer(std::string_view s) {
  if (s.empty() || s.size() > 20) return std::nullopt;
  const std::string_view digits = s[0] == '-' ? s.substr(1) : s;
  if (digits.empty() || (digits[0] == '0' && s.size() > 1)) return std::nullopt;  // "-0", "01"
  long long value = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc{} || end != s.data() + s.size()) return std::nullopt;
  return value;
}

std::optional<unsigned long long> parse_unsigned(std::string_view s) {
  if (s.empty() || s.size() > 20 || s[0] == '-' || s[0] == '+') return std::nullopt;
  unsigned long long value = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc{} || end != s.data() + s.size()) return std::nullopt;
  return value;
}

std::string to_upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return out;
}

bool equals_ignoring_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'a' && x <= 'z') x = static_cast<char>(x - 'a' + 'A');
    if (y >= 'a' && y <= 'z') y = static_cast<char>(y - 'a' + 'A');
    if (x != y) return false;
  }
  return true;
}

}  // namespace pyk::server
