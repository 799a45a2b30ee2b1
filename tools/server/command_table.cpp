#include "tools/server/command_table.h"

#include <iostream>

#include "tools/server/arguments.h"

namespace pyk::server {

std::string wrong_arity(std::string_view command) {
  return "ERR wrong number of arguments for '" + std::string(command) + "' command";
}
std::string invalid_expire(std::string_view command) {
  return "ERR invalid expire time in '" + std::string(command) + "' command";
}

const CommandTable& CommandTable::standard() {
  static const CommandTable table([] {
    std::vector<CommandSpec> all = string_commands();
    for (auto part : {key_commands(), server_commands()}) all.insert(all.end(), part.begin(), part.end());
    return all;
  }());
  return table;
}

CommandTable::CommandTable(std::vector<CommandSpec> commands) : commands_(std::move(commands)) {}

const CommandSpec* CommandTable::find(std::string_view name) const {
  for (const CommandSpec& spec : commands_) {
    if (equals_ignoring_case(spec.name, name)) return &spec;
  }
  return nullptr;
}

namespace {
// Redis's reply to an unknown command quotes its first arguments.
std::string unknown_command(const Args& args) {
  std::string message = "ERR unknown command '" + args[0].substr(0, 128) + "', with args beginning with: ";
  for (std::size_t i = 1; i < args.size() && message.size() < 512; ++i) {
    message += "'" + args[i].substr(0, 128) + "' ";
  }
  return message;
}
}  // namespace

const CommandSpec* CommandTable::execute(CommandContext& ctx, const Args& args) const {
  const CommandSpec* spec = find(args[0]);
  if (spec == nullptr) {
    ctx.reply.error(unknown_command(args));
    return nullptr;
  }
  const auto n = static_cast<int>(args.size());
  if ((spec->arity > 0 && n != spec->arity) || (spec->arity < 0 && n < -spec->arity)) {
    ctx.reply.error(wrong_arity(spec->name));
    return nullptr;
  }
  std::string& out = ctx.reply.buffer();
  const std::size_t start = out.size();
  try {
    spec->run(ctx, args);
  } catch (const OutputLimitExceeded&) {
    throw;
  } catch (const InvalidArgument& e) {  // the client's mistake (an oversized key, ...)
    out.resize(start);
    ctx.reply.error(std::string("ERR ") + e.what());
  } catch (const std::exception& e) {  // the server's trouble: the client and the log hear of it
    out.resize(start);
    std::cerr << "pyk-server: " << spec->name << ": " << e.what() << '\n';
    ctx.reply.error(std::string("ERR ") + e.what());
  }
  return spec;
}

}  // namespace pyk::server
