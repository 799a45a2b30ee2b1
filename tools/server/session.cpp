#include "tools/server/session.h"

namespace pyk::server {

// Buffers keep up to this much capacity between commands; more is given back.
constexpr std::size_t kKeepCapacity = 1 << 20;

Session::Session(Store& store, ServerState& server, const CommandTable& table)
    : store_(store), server_(server), table_(table), parser_(server.settings.limits) {}

bool Session::run() {
  bool output_full = false;
  while (!closing_) {
    if (output_.size() >= kOutputBatch) {
      output_full = true;
      break;
    }
    std::size_t consumed = 0;
    const auto result =
        parser_.parse(std::string_view(input_).substr(input_used_), consumed, args_);
    input_used_ += consumed;
    if (result == RespParser::Result::need_more) break;
    CommandContext ctx{store_, server_, RespWriter(output_, server_.settings.max_output_bytes)};
    if (result == RespParser::Result::error) {  // the stream cannot be followed any more
      ctx.reply.error("ERR " + parser_.error());
      closing_ = true;
      ++server_.counters.dropped_clients;
      break;
    }
    try {
      const CommandSpec* spec = table_.execute(ctx, args_);
      ++server_.counters.commands;
      if (spec != nullptr && spec->write) {
        wrote_ = true;
        ++server_.counters.write_commands;
      }
    } catch (const OutputLimitExceeded&) {
      output_.clear();
      closing_ = dropped_ = true;
      ++server_.counters.dropped_clients;
      break;
    }
    closing_ = ctx.quit;
  }
  // Drop what was parsed; keep the start of an incomplete command.
  if (input_used_ == input_.size()) {
    input_.clear();
    input_used_ = 0;
    if (input_.capacity() > kKeepCapacity) input_.shrink_to_fit();  // after a huge command
  } else if (input_used_ >= 64 * 1024 && input_used_ * 2 >= input_.size()) {
    input_.erase(0, input_used_);
    input_used_ = 0;
  }
  return output_full;
}

void Session::sent() {
  output_.clear();
  if (output_.capacity() > kKeepCapacity) output_.shrink_to_fit();  // after a huge reply
  wrote_ = false;
}

}  // namespace pyk::server
