// RespParser: splits a client's byte stream into commands, as Redis reads
// them: RESP2 multibulk ("*2\r\n$3\r\nGET\r\n$1\r\nk\r\n") or an inline line
// ("GET k\r\n", quotes as in redis-cli). Incremental: a command may arrive
// in any number of pieces, and the parser keeps its place between calls, so
// a large value arriving slowly is never parsed twice.
//
// Limits keep a client from making the server allocate without bound: a
// bulk length over max_bulk, an argument count over max_args, a command of
// more than max_command bytes or an inline line of more than max_inline
// bytes is a protocol error (after which the connection must be closed, as
// the stream can no longer be followed).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace pyk::server {

struct ProtocolLimits {
  std::size_t max_bulk = 64u << 20;       // Redis's proto-max-bulk-len (512 MiB there)
  std::size_t max_args = 1024 * 1024;     // Redis: 1024*1024 before authentication
  std::size_t max_command = 256u << 20;   // all arguments of one command (query buffer limit)
  std::size_t max_inline = 64 * 1024;     // Redis's PROTO_INLINE_MAX_SIZE
};

class RespParser {
 public:
  explicit RespParser(ProtocolLimits limits = {}) : limits_(limits) {}

  enum class Result { command, need_more, error };
  // Parses from `input` (the bytes not consumed yet). Sets `consumed` to the
  // bytes used, which the caller drops before the next call, whatever the
  // result. On `command`, `args` holds it (at least one argument).
  // On `error`, error() says what was wrong (a Redis "Protocol error: ...").
  Result parse(std::string_view input, std::size_t& consumed, std::vector<std::string>& args);
  const std::string& error() const { return error_; }

 private:
  Result parse_inline(std::string_view input, std::size_t& consumed,
                      std::vector<std::string>& args);
  Result fail(std::string message);
  // A "<prefix><integer>\r\n" line at the start of input: sets value and the
  // line length, need_more if no CRLF yet. `what` names it in errors.
  Result read_length(std::string_view input, char prefix, std::string_view what,
                     long long& value, std::size_t& line);

  ProtocolLimits limits_;
  // Multibulk progress: arguments still to read (0: between commands), the
  // length of the bulk being read (-1: its header is not read yet), and the
  // arguments read so far with their total size.
  long long args_left_ = 0;
  long long bulk_length_ = -1;
  std::vector<std::string> args_;
  std::size_t command_bytes_ = 0;
  std::string error_;
};

// Splits an inline command line into arguments as redis-cli and Redis do:
// spaces separate, "double quotes" take \n \r \t \b \a \\ \" \xHH escapes,
// 'single quotes' take \'. False if quotes are unbalanced.
bool split_inline(std::string_view line, std::vector<std::string>& args);

}  // namespace pyk::server
