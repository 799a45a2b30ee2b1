// The command layer: every command pyk-server knows, found by name in any
// case, with Redis's arity rules and error replies. Runs against a Store and
// writes RESP replies; knows nothing of sockets (tests call it directly).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "core/store.h"
#include "tools/server/resp_writer.h"
#include "tools/server/server_state.h"

namespace pyk::server {

using Args = std::vector<std::string>;  // args[0] is the command name

struct CommandContext {
  Store& store;
  ServerState& server;
  RespWriter reply;
  bool quit = false;   // QUIT: close once the reply is sent
};

struct CommandSpec {
  std::string_view name;  // lower case, as COMMAND reports it
  int arity;              // Redis's: n = exactly n arguments (name included), -n = at least n
  bool write;             // changes the store: under --sync always its reply waits for a sync
  int first_key, last_key, key_step;  // COMMAND's key positions
  void (*run)(CommandContext&, const Args&);
};

class CommandTable {
 public:
  // The table of every command pyk-server serves.
  static const CommandTable& standard();

  // Runs args as a command, replying to ctx (the reply to a bad command is
  // an error reply). Returns the command run, or null if none was. Throws
  // OutputLimitExceeded; any other failure becomes an error reply (and a
  // message on stderr when it is the store's I/O or corruption error).
  const CommandSpec* execute(CommandContext& ctx, const Args& args) const;

  const CommandSpec* find(std::string_view name) const;
  const std::vector<CommandSpec>& commands() const { return commands_; }

 private:
  explicit CommandTable(std::vector<CommandSpec> commands);
  std::vector<CommandSpec> commands_;
};

// The parts of the table, one file each.
std::vector<CommandSpec> string_commands();  // GET SET INCR ... (string_commands.cpp)
std::vector<CommandSpec> key_commands();     // DEL EXISTS TTL EXPIRE KEYS SCAN ... (key_commands.cpp)
std::vector<CommandSpec> server_commands();  // PING INFO COMMAND CONFIG ... (server_commands.cpp)

// Error replies several commands share.
inline constexpr std::string_view kSyntaxError = "ERR syntax error";
inline constexpr std::string_view kNotInteger = "ERR value is not an integer or out of range";
std::string wrong_arity(std::string_view command);
std::string invalid_expire(std::string_view command);

}  // namespace pyk::server
