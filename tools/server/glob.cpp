#include "tools/server/glob.h"

namespace pyk::server {
namespace {

// Matches the single-byte element of `pattern` at `p` (not '*') against `c`;
// sets `next` past the element. False if it does not match.
bool match_one(std::string_view pattern, std::size_t p, unsigned char c, std::size_t& next) {
  const std::size_t n = pattern.size();
  if (pattern[p] == '?') {
    next = p + 1;
    return true;
  }
  if (pattern[p] == '\\' && p + 1 < n) {
    next = p + 2;
    return static_cast<unsigned char>(pattern[p + 1]) == c;
  }
  if (pattern[p] != '[') {
    next = p + 1;
    return static_cast<unsigned char>(pattern[p]) == c;
  }
  // A set, as Redis reads it: an unterminated one runs to the pattern's end.
  std::size_t i = p + 1;
  const bool negate = i < n && pattern[i] == '^';
  if (negate) ++i;
  bool found = false;
  while (i < n && pattern[i] != ']') {
    if (pattern[i] == '\\' && i + 1 < n) {
      found |= static_cast<unsigned char>(pattern[i + 1]) == c;
      i += 2;
    } else if (i + 2 < n && pattern[i + 1] == '-' && pattern[i + 2] != ']') {
      auto lo = static_cast<unsigned char>(pattern[i]), hi = static_cast<unsigned char>(pattern[i + 2]);
      if (lo > hi) std::swap(lo, hi);
      found |= c >= lo && c <= hi;
      i += 3;
    } else {
      found |= static_cast<unsigned char>(pattern[i]) == c;
      ++i;
    }
  }
  next = i < n ? i + 1 : i;
  return found != negate;
}

}  // namespace

bool glob_match(std::string_view pattern, std::string_view text) {
  // Greedy matching with one backtrack point: the last '*' seen. Every other
  // element matches exactly one byte, so retrying from the last star suffices.
  std::size_t p = 0, t = 0;
  std::size_t star = std::string_view::npos, star_text = 0;
  while (t < text.size()) {
    std::size_t next = 0;
    if (p < pattern.size() && pattern[p] == '*') {
      star = ++p;
      star_text = t;
    } else if (p < pattern.size() && match_one(pattern, p, static_cast<unsigned char>(text[t]), next)) {
      p = next;
      ++t;
    } else if (star != std::string_view::npos) {
      p = star;
      t = ++star_text;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

std::string glob_literal_prefix(std::string_view pattern) {
  std::string prefix;
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    const char c = pattern[i];
    if (c == '*' || c == '?' || c == '[') break;
    if (c == '\\') {
      if (i + 1 == pattern.size()) break;
      prefix += pattern[++i];
    } else {
      prefix += c;
    }
  }
  return prefix;
}

}  // namespace pyk::server
