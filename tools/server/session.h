// Session: one client's conversation, without the socket. Bytes received go
// in; commands are parsed and run in order; replies collect in an output
// buffer that the connection sends. Pipelining comes for free: every complete
// command in the input runs before the replies go out, up to kOutputBatch
// bytes of replies at a time, so a client that sends without reading holds
// at most about that much (plus one reply) of server memory.
//
// Not thread-safe: a connection drives its session from one strand.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "core/store.h"
#include "tools/server/command_table.h"
#include "tools/server/resp_parser.h"
#include "tools/server/server_state.h"

namespace pyk::server {

class Session {
 public:
  static constexpr std::size_t kOutputBatch = 64 * 1024;

  Session(Store& store, ServerState& server,
          const CommandTable& table = CommandTable::standard());

  void receive(std::string_view bytes) { input_.append(bytes); }
  // Runs the complete commands received, until the output holds kOutputBatch
  // bytes or the session ends. Returns true if it stopped for the output
  // (complete commands may be left: call again once the output is sent).
  bool run();

  // The replies so far; the caller sends them, then clears them.
  std::string& output() { return output_; }
  // A command whose reply is in output() wrote to the store (under --sync
  // always the reply waits for a sync). Cleared by sent().
  bool wrote() const { return wrote_; }
  // The output was handed to the socket.
  void sent();
  // QUIT or a protocol error: send the output, then close.
  bool closing() const { return closing_; }
  // The client went past its output limit: close without sending.
  bool dropped() const { return dropped_; }
  // Bytes received and not yet consumed (the start of a command).
  std::size_t pending_input() const { return input_.size() - input_used_; }

 private:
  Store& store_;
  ServerState& server_;
  const CommandTable& table_;
  RespParser parser_;
  std::string input_;
  std::size_t input_used_ = 0;  // bytes of input_ already parsed
  std::string output_;
  Args args_;
  bool wrote_ = false;
  bool closing_ = false;
  bool dropped_ = false;
};

}  // namespace pyk::server
