// Connection and server commands: PING ECHO QUIT SELECT INFO COMMAND CONFIG.
#include "tools/server/arguments.h"
#include "tools/server/command_table.h"
#include "tools/server/glob.h"
#include "tools/server/info.h"

namespace pyk::server {
namespace {

void ping(CommandContext& ctx, const Args& a) {
  if (a.size() > 2) return ctx.reply.error(wrong_arity("ping"));
  a.size() == 2 ? ctx.reply.bulk(a[1]) : ctx.reply.simple("PONG");
}

void echo(CommandContext& ctx, const Args& a) { ctx.reply.bulk(a[1]); }

void quit(CommandContext& ctx, const Args&) {
  ctx.reply.ok();
  ctx.quit = true;
}

void select(CommandContext& ctx, const Args& a) {
  const auto index = parse_integer(a[1]);
  if (!index) return ctx.reply.error(kNotInteger);
  if (*index != 0) return ctx.reply.error("ERR DB index is out of range");
  ctx.reply.ok();
}

void info(CommandContext& ctx, const Args& a) {
  ctx.reply.bulk(info_text(ctx.server, ctx.store, {a.begin() + 1, a.end()}));
}

// One command as COMMAND describes it: name, arity, flags, first key, last key, step.
void describe(CommandContext& ctx, const CommandSpec& spec) {
  ctx.reply.array(6);
  ctx.reply.bulk(spec.name);
  ctx.reply.integer(spec.arity);
  ctx.reply.array(1);
  ctx.reply.simple(spec.write ? "write" : "readonly");
  ctx.reply.integer(spec.first_key);
  ctx.reply.integer(spec.last_key);
  ctx.reply.integer(spec.key_step);
}

// COMMAND, COMMAND COUNT, COMMAND INFO name..., COMMAND DOCS [name...], COMMAND LIST
void command(CommandContext& ctx, const Args& a) {
  const auto& all = CommandTable::standard().commands();
  if (a.size() == 1) {
    ctx.reply.array(all.size());
    for (const auto& spec : all) describe(ctx, spec);
    return;
  }
  const std::string sub = to_upper(a[1]);
  if (sub == "COUNT" && a.size() == 2) return ctx.reply.integer(static_cast<long long>(all.size()));
  if (sub == "LIST" && a.size() == 2) {
    ctx.reply.array(all.size());
    for (const auto& spec : all) ctx.reply.bulk(spec.name);
    return;
  }
  if (sub == "DOCS") return ctx.reply.array(0);  // no docs: redis-cli then shows no hints
  if (sub == "INFO") {
    ctx.reply.array(a.size() - 2);
    for (std::size_t i = 2; i < a.size(); ++i) {
      const CommandSpec* spec = CommandTable::standard().find(a[i]);
      spec ? describe(ctx, *spec) : ctx.reply.null_array();
    }
    return;
  }
  ctx.reply.error("ERR unknown subcommand '" + a[1] + "'. Try COMMAND HELP.");
}

// CONFIG GET pattern [pattern ...]; the configuration is set by flags only.
void config(CommandContext& ctx, const Args& a) {
  if (!equals_ignoring_case(a[1], "GET")) {
    return ctx.reply.error("ERR unknown subcommand '" + a[1] + "'. pyk-server supports CONFIG GET only.");
  }
  if (a.size() < 3) return ctx.reply.error(wrong_arity("config|get"));
  std::vector<std::pair<std::string, std::string>> found;
  for (const auto& parameter : config_parameters(ctx.server)) {
    for (std::size_t i = 2; i < a.size(); ++i) {
      if (glob_match(to_upper(a[i]), to_upper(parameter.first))) {
        found.push_back(parameter);
        break;
      }
    }
  }
  ctx.reply.array(found.size() * 2);
  for (const auto& [name, value] : found) {
    ctx.reply.bulk(name);
    ctx.reply.bulk(value);
  }
}

}  // namespace

std::vector<CommandSpec> server_commands() {
  return {
      {"ping", -1, false, 0, 0, 0, ping},
      {"echo", 2, false, 0, 0, 0, echo},
      {"quit", -1, false, 0, 0, 0, quit},
      {"select", 2, false, 0, 0, 0, select},
      {"info", -1, false, 0, 0, 0, info},
      {"command", -1, false, 0, 0, 0, command},
      {"config", -2, false, 0, 0, 0, config},
  };
}

}  // namespace pyk::server
