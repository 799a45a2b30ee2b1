#include "tools/server/resp_parser.h"

#include <algorithm>
#include <charconv>

namespace pyk::server {

RespParser::Result RespParser::fail(std::string message) {
  error_ = "Protocol error: " + std::move(message);
  return Result::error;
}

RespParser::Result RespParser::read_length(std::string_view input, char prefix,
                                           std::string_view what, long long& value,
                                           std::size_t& line) {
  const std::size_t cr = input.find('\r');
  if (cr == std::string_view::npos || cr + 1 >= input.size()) {
    // A length line is short; one that goes on and on is garbage, not a slow client.
    if (input.size() > limits_.max_inline) return fail("too big " + std::string(what) + " count string");
    return Result::need_more;
  }
  const char* first = input.data() + 1;
  const char* last = input.data() + cr;
  const auto [end, ec] = std::from_chars(first, last, value);
  if (input[0] != prefix || input[cr + 1] != '\n' || ec != std::errc{} || end != last ||
      first == last) {
    return fail("invalid " + std::string(what) + " length");
  }
  line = cr + 2;
  return Result::command;  // (a length was read)
}

RespParser::Result RespParser::parse(std::string_view input, std::size_t& consumed,
                                     std::vector<std::string>& args) {
  consumed = 0;
  while (args_left_ == 0) {  // between commands
    const std::string_view rest = input.substr(consumed);
    if (rest.empty()) return Result::need_more;
    if (rest[0] != '*') {
      std::size_t used = 0;
      const Result r = parse_inline(rest, used, args);
      consumed += used;
      if (r != Result::command || !args.empty()) return r;
      continue;  // an empty line: nothing to run
    }
    long long count = 0;
    std::size_t line = 0;
    if (const Result r = read_length(rest, '*', "multibulk", count, line); r != Result::command)
      return r;
    if (count > static_cast<long long>(limits_.max_args)) return fail("invalid multibulk length");
    consumed += line;
    if (count <= 0) continue;  // "*0" and "*-1" are no command, as in Redis
    args_left_ = count;
    args_.clear();
    args_.reserve(static_cast<std::size_t>(std::min<long long>(count, 1024)));
    command_bytes_ = 0;
  }
  while (args_left_ > 0) {
    const std::string_view rest = input.substr(consumed);
    if (bulk_length_ < 0) {
      if (rest.empty()) return Result::need_more;
      if (rest[0] != '$')
        return fail("expected '$', got '" + std::string(1, rest[0]) + "'");
      long long length = 0;
      std::size_t line = 0;
      if (const Result r = read_length(rest, '$', "bulk", length, line); r != Result::command)
        return r;
      if (length < 0 || static_cast<unsigned long long>(length) > limits_.max_bulk)
        return fail("invalid bulk length");
      if (command_bytes_ + static_cast<std::size_t>(length) > limits_.max_command)
        return fail("command larger than the query buffer limit");
      bulk_length_ = length;
      consumed += line;
      continue;
    }
    const auto length = static_cast<std::size_t>(bulk_length_);
    if (rest.size() < length + 2) return Result::need_more;
    if (rest[length] != '\r' || rest[length + 1] != '\n') return fail("expected CRLF after bulk");
    args_.emplace_back(rest.substr(0, length));
    command_bytes_ += length;
    consumed += length + 2;
    bulk_length_ = -1;
    --args_left_;
  }
  args = std::move(args_);
  args_ = {};
  return Result::command;
}

RespParser::Result RespParser::parse_inline(std::string_view input, std::size_t& consumed,
                                            std::vector<std::string>& args) {
  const std::size_t newline = input.find('\n');
  if (newline == std::string_view::npos) {
    if (input.size() > limits_.max_inline) return fail("too big inline request");
    return Result::need_more;
  }
  if (newline > limits_.max_inline) return fail("too big inline request");
  std::string_view line = input.substr(0, newline);
  if (line.ends_with('\r')) line.remove_suffix(1);
  consumed = newline + 1;
  args.clear();
  if (!split_inline(line, args)) return fail("unbalanced quotes in request");
  return Result::command;
}

namespace {
int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }
}  // namespace

bool split_inline(std::string_view line, std::vector<std::string>& args) {
  std::size_t i = 0;
  const std::size_t n = line.size();
  for (;;) {
    while (i < n && is_space(line[i])) ++i;
    if (i == n) return true;
    std::string arg;
    bool in_double = false, in_single = false;
    for (;;) {
      if (in_double) {
        if (i == n) return false;
        if (line[i] == '\\' && i + 3 < n && line[i + 1] == 'x' && hex_digit(line[i + 2]) >= 0 &&
            hex_digit(line[i + 3]) >= 0) {
          arg += static_cast<char>(hex_digit(line[i + 2]) * 16 + hex_digit(line[i + 3]));
          i += 4;
        } else if (line[i] == '\\' && i + 1 < n) {
          const char c = line[++i];
          arg += c == 'n' ? '\n' : c == 'r' ? '\r' : c == 't' ? '\t' : c == 'b' ? '\b'
               : c == 'a' ? '\a' : c;
          ++i;
        } else if (line[i] == '"') {
          // A closing quote must be followed by a space or the end.
          if (i + 1 < n && !is_space(line[i + 1])) return false;
          ++i;
          break;
        } else {
          arg += line[i++];
        }
      } else if (in_single) {
        if (i == n) return false;
        if (line[i] == '\\' && i + 1 < n && line[i + 1] == '\'') {
          arg += '\'';
          i += 2;
        } else if (line[i] == '\'') {
          if (i + 1 < n && !is_space(line[i + 1])) return false;
          ++i;
          break;
        } else {
          arg += line[i++];
        }
      } else {
        if (i == n || is_space(line[i])) break;
        if (line[i] == '"') {
          in_double = true;
        } else if (line[i] == '\'') {
          in_single = true;
        } else {
          arg += line[i];
        }
        ++i;
      }
    }
    args.push_back(std::move(arg));
  }
}

}  // namespace pyk::server
