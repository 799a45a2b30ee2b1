// RespParser: RESP2 multibulk and inline commands, in pieces, and the limits.
#include <boost/test/unit_test.hpp>
#include <string>
#include <vector>

#include "tools/server/resp_parser.h"

using namespace pyk::server;
using Args = std::vector<std::string>;

BOOST_AUTO_TEST_SUITE(server_resp)

namespace {
// Feeds `input` to the parser `chunk` bytes at a time, as a socket might
// deliver it, and returns every command parsed; `error` gets the first error.
std::vector<Args> parse_all(const std::string& input, std::size_t chunk = SIZE_MAX,
                            std::string* error = nullptr, ProtocolLimits limits = {}) {
  RespParser parser(limits);
  std::vector<Args> commands;
  std::string buffer;
  for (std::size_t fed = 0; fed < input.size();) {
    const std::size_t n = std::min(chunk, input.size() - fed);
    buffer.append(input, fed, n);
    fed += n;
    for (;;) {
      std::size_t consumed = 0;
      Args args;
      const auto result = parser.parse(buffer, consumed, args);
      buffer.erase(0, consumed);
      if (result == RespParser::Result::error) {
        if (error) *error = parser.error();
        return commands;
      }
      if (result == RespParser::Result::need_more) break;
      commands.push_back(args);
    }
  }
  return commands;
}

std::string error_of(const std::string& input, ProtocolLimits limits = {}) {
  std::string error;
  parse_all(input, SIZE_MAX, &error, limits);
  return error;
}
}  // namespace

BOOST_AUTO_TEST_CASE(multibulk_commands_pipelined_in_one_buffer) {
  const auto commands = parse_all("*1\r\n$4\r\nPING\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2\r\nvv\r\n");
  BOOST_TEST_REQUIRE(commands.size() == 2u);
  BOOST_TEST((commands[0] == Args{"PING"}));
  BOOST_TEST((commands[1] == Args{"SET", "k", "vv"}));
}

BOOST_AUTO_TEST_CASE(a_command_arriving_one_byte_at_a_time_parses_the_same) {
  const std::string input = "*2\r\n$3\r\nGET\r\n$10\r\n0123456789\r\nPING\r\n";
  const auto whole = parse_all(input);
  const auto bytewise = parse_all(input, 1);
  BOOST_TEST_REQUIRE(whole.size() == 2u);
  BOOST_TEST((whole == bytewise));
}

BOOST_AUTO_TEST_CASE(bulk_strings_are_binary_safe) {
  const std::string value("a\r\n\0b", 5);
  const auto commands = parse_all("*2\r\n$3\r\nGET\r\n$5\r\n" + value + "\r\n");
  BOOST_TEST_REQUIRE(commands.size() == 1u);
  BOOST_TEST(commands[0][1] == value);
  BOOST_TEST(parse_all("*2\r\n$3\r\nGET\r\n$0\r\n\r\n")[0][1] == "");
}

BOOST_AUTO_TEST_CASE(inline_commands_split_on_spaces_and_honour_quotes) {
  const auto commands = parse_all(
      "PING\r\nset k  \"a b\\x41\\n\"\nGET 'it\\'s'\r\n\r\n   \r\nECHO \"\"\r\n");
  BOOST_TEST_REQUIRE(commands.size() == 4u);  // blank lines are no command
  BOOST_TEST((commands[0] == Args{"PING"}));
  BOOST_TEST((commands[1] == Args{"set", "k", "a bA\n"}));
  BOOST_TEST((commands[2] == Args{"GET", "it's"}));
  BOOST_TEST((commands[3] == Args{"ECHO", ""}));
}

BOOST_AUTO_TEST_CASE(empty_and_null_multibulks_are_skipped) {
  const auto commands = parse_all("*0\r\n*-1\r\n*1\r\n$4\r\nPING\r\n");
  BOOST_TEST_REQUIRE(commands.size() == 1u);
  BOOST_TEST(commands[0][0] == "PING");
}

BOOST_AUTO_TEST_CASE(malformed_lengths_are_protocol_errors) {
  BOOST_TEST(error_of("*abc\r\n") == "Protocol error: invalid multibulk length");
  BOOST_TEST(error_of("*1\r\n$-5\r\n") == "Protocol error: invalid bulk length");
  BOOST_TEST(error_of("*1\r\n$x\r\n") == "Protocol error: invalid bulk length");
  BOOST_TEST(error_of("*1\r\n$3 \r\nabc\r\n") == "Protocol error: invalid bulk length");
  BOOST_TEST(error_of("*1\r\n:3\r\n") == "Protocol error: expected '$', got ':'");
  BOOST_TEST(error_of("*1\r\n$3\r\nabcXY") == "Protocol error: expected CRLF after bulk");
  BOOST_TEST(error_of("*99999999999999999999\r\n") == "Protocol error: invalid multibulk length");
  BOOST_TEST(error_of("SET \"unterminated\r\n") == "Protocol error: unbalanced quotes in request");
}

BOOST_AUTO_TEST_CASE(limits_stop_a_client_from_claiming_unbounded_memory) {
  ProtocolLimits limits;
  limits.max_bulk = 10;
  limits.max_args = 3;
  limits.max_command = 15;
  limits.max_inline = 32;
  BOOST_TEST(error_of("*1\r\n$11\r\n", limits) == "Protocol error: invalid bulk length");
  BOOST_TEST(error_of("*1\r\n$10\r\n0123456789\r\n", limits).empty());
  BOOST_TEST(error_of("*4\r\n", limits) == "Protocol error: invalid multibulk length");
  BOOST_TEST(error_of("*2\r\n$10\r\n0123456789\r\n$6\r\n", limits) ==
             "Protocol error: command larger than the query buffer limit");
  BOOST_TEST(error_of(std::string(40, 'A'), limits) == "Protocol error: too big inline request");
  BOOST_TEST(error_of("*1\r\n$" + std::string(40, '1'), limits) ==
             "Protocol error: too big bulk count string");
  // Under the limit, an unfinished line only waits for more.
  BOOST_TEST(error_of(std::string(20, 'A'), limits).empty());
}

BOOST_AUTO_TEST_CASE(a_huge_claimed_bulk_allocates_nothing_up_front) {
  // 60 MiB claimed, 3 bytes sent: the parser waits and holds nothing of it.
  RespParser parser;
  std::size_t consumed = 0;
  Args args;
  const std::string input = "*1\r\n$62914560\r\nabc";
  BOOST_TEST((parser.parse(input, consumed, args) == RespParser::Result::need_more));
  BOOST_TEST(consumed == input.size() - 3);  // the headers; the 3 bytes wait in the caller's buffer
}

BOOST_AUTO_TEST_CASE(split_inline_rejects_text_glued_to_a_closing_quote) {
  Args args;
  BOOST_TEST(!split_inline("\"a\"b", args));
  BOOST_TEST(split_inline("  a\t b  ", args));
  BOOST_TEST((args == Args{"a", "b"}));
}

BOOST_AUTO_TEST_SUITE_END()
