#include "tools/lib/text.h"

#include <array>
#include <charconv>
#include <chrono>
#include <cstdio>

namespace pyk::tools {
namespace {
constexpr char kHex[] = "0123456789abcdef";
constexpr char kBase64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
}  // namespace

namespace {

// The length of the valid UTF-8 sequence of a non-ASCII code point at `i`
// (its value in `cp`), or 0 if the bytes there are not one.
std::size_t utf8_sequence(std::string_view s, std::size_t i, std::uint32_t& cp) {
  const auto c = static_cast<unsigned char>(s[i]);
  std::size_t n;
  if ((c & 0xe0) == 0xc0) {
    n = 1, cp = c & 0x1f;
  } else if ((c & 0xf0) == 0xe0) {
    n = 2, cp = c & 0x0f;
  } else if ((c & 0xf8) == 0xf0) {
    n = 3, cp = c & 0x07;
  } else {
    return 0;
  }
  if (s.size() - i <= n) return 0;
  for (std::size_t k = 1; k <= n; ++k) {
    const auto d = static_cast<unsigned char>(s[i + k]);
    if ((d & 0xc0) != 0x80) return 0;
    cp = (cp << 6) | (d & 0x3f);
  }
  // Overlong forms, surrogates and values past U+10FFFF.
  if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
      cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
    return 0;
  return n + 1;
}

}  // namespace

std::string escape_text(std::string_view bytes, std::size_t max_bytes) {
  const bool cut = max_bytes != 0 && bytes.size() > max_bytes;
  if (cut) bytes = bytes.substr(0, max_bytes);
  std::string out;
  out.reserve(bytes.size() + 8);
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    const auto c = static_cast<unsigned char>(bytes[i]);
    std::uint32_t cp = 0;
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else if (const std::size_t n = c >= 0x80 ? utf8_sequence(bytes, i, cp) : 0;
               n != 0 && cp >= 0xa0) {  // valid UTF-8 stays as it is (C1 controls do not)
      out.append(bytes.substr(i, n));
      i += n - 1;
    } else {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  if (cut) out += "...";
  return out;
}

bool is_valid_utf8(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    std::uint32_t cp = 0;
    if (static_cast<unsigned char>(s[i]) < 0x80) {
      ++i;
    } else if (const std::size_t n = utf8_sequence(s, i, cp); n != 0) {
      i += n;
    } else {
      return false;
    }
  }
  return true;
}

std::string json_string(std::string_view utf8) {
  // Bytes that are not UTF-8 (a stray file name) become \u00XX: lossy, but valid JSON.
  const bool valid = is_valid_utf8(utf8);
  std::string out = "\"";
  for (unsigned char c : utf8) {
    if (!valid && c >= 0x80) {
      out += "\\u00";
      out += kHex[c >> 4];
      out += kHex[c & 15];
      continue;
    }
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20 || c == 0x7f) {
          out += "\\u00";
          out += kHex[c >> 4];
          out += kHex[c & 15];
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
  return out;
}

std::string base64_encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const std::uint32_t v = (std::uint32_t(std::uint8_t(bytes[i])) << 16) |
                            (std::uint32_t(std::uint8_t(bytes[i + 1])) << 8) |
                            std::uint8_t(bytes[i + 2]);
    out += kBase64[v >> 18];
    out += kBase64[(v >> 12) & 63];
    out += kBase64[(v >> 6) & 63];
    out += kBase64[v & 63];
  }
  if (const std::size_t rest = bytes.size() - i; rest > 0) {
    std::uint32_t v = std::uint32_t(std::uint8_t(bytes[i])) << 16;
    if (rest == 2) v |= std::uint32_t(std::uint8_t(bytes[i + 1])) << 8;
    out += kBase64[v >> 18];
    out += kBase64[(v >> 12) & 63];
    out += rest == 2 ? kBase64[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  std::array<int, 256> value;
  value.fill(-1);
  for (int i = 0; i < 64; ++i) value[static_cast<unsigned char>(kBase64[i])] = i;
  std::string out;
  out.reserve(text.size() / 4 * 3);
  for (std::size_t i = 0; i < text.size(); i += 4) {
    const bool last = i + 4 == text.size();
    int v[4];
    int pad = 0;
    for (int k = 0; k < 4; ++k) {
      const auto c = static_cast<unsigned char>(text[i + k]);
      if (c == '=' && last && k >= 2) {
        v[k] = 0;
        ++pad;
      } else if (pad > 0 || (v[k] = value[c]) < 0) {
        return std::nullopt;
      }
    }
    const std::uint32_t n = (v[0] << 18) | (v[1] << 12) | (v[2] << 6) | v[3];
    out += static_cast<char>(n >> 16);
    if (pad < 2) out += static_cast<char>((n >> 8) & 0xff);
    if (pad < 1) out += static_cast<char>(n & 0xff);
  }
  return out;
}

std::string hex_dump(std::string_view bytes, std::uint64_t base, std::string_view indent) {
  std::string out;
  for (std::size_t i = 0; i < bytes.size(); i += 16) {
    out += indent;
    char offset[32];
    std::snprintf(offset, sizeof offset, "%08llx  ", static_cast<unsigned long long>(base + i));
    out += offset;
    for (std::size_t k = 0; k < 16; ++k) {
      if (i + k < bytes.size()) {
        const auto c = static_cast<unsigned char>(bytes[i + k]);
        out += kHex[c >> 4];
        out += kHex[c & 15];
        out += ' ';
      } else {
        out += "   ";
      }
      if (k == 7) out += ' ';
    }
    out += " |";
    for (std::size_t k = 0; k < 16 && i + k < bytes.size(); ++k) {
      const auto c = static_cast<unsigned char>(bytes[i + k]);
      out += (c >= 0x20 && c < 0x7f) ? static_cast<char>(c) : '.';
    }
    out += "|\n";
  }
  return out;
}

std::string iso_time_micros(std::uint64_t micros) {
  using namespace std::chrono;
  const auto days = micros / 86'400'000'000ull;
  const auto rest = micros % 86'400'000'000ull;
  const year_month_day ymd{sys_days{std::chrono::days{static_cast<long>(days)}}};
  const auto secs = rest / 1'000'000;
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02u:%02u:%02u.%06uZ", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<unsigned>(secs / 3600), static_cast<unsigned>(secs / 60 % 60),
                static_cast<unsigned>(secs % 60), static_cast<unsigned>(rest % 1'000'000));
  return buf;
}

std::optional<std::uint64_t> parse_duration_micros(std::string_view text) {
  std::uint64_t n = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || n == 0) return std::nullopt;
  const std::string_view unit(end, text.data() + text.size() - end);
  std::uint64_t scale;
  if (unit.empty() || unit == "s") scale = 1'000'000;
  else if (unit == "ms") scale = 1'000;
  else if (unit == "m") scale = 60'000'000;
  else if (unit == "h") scale = 3'600'000'000ull;
  else if (unit == "d") scale = 86'400'000'000ull;
  else return std::nullopt;
  if (n > UINT64_MAX / scale / 2) return std::nullopt;
  return n * scale;
}

}  // namespace pyk::tools
