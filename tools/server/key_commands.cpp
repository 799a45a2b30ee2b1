// Commands on keys: DEL UNLINK EXISTS TTL PTTL EXPIRE PEXPIRE EXPIREAT
// PEXPIREAT PERSIST KEYS SCAN DBSIZE.
#include "tools/server/arguments.h"
#include "tools/server/command_table.h"
#include "tools/server/expiry.h"
#include "tools/server/glob.h"

namespace pyk::server {
namespace {

using std::chrono::microseconds;

void del(CommandContext& ctx, const Args& a) {
  long long erased = 0;
  for (std::size_t i = 1; i < a.size(); ++i) erased += ctx.store.erase(a[i]) ? 1 : 0;
  ctx.reply.integer(erased);
}

void exists(CommandContext& ctx, const Args& a) {
  long long found = 0;  // a key named twice counts twice, as in Redis
  for (std::size_t i = 1; i < a.size(); ++i) found += ctx.store.contains(a[i]) ? 1 : 0;
  ctx.reply.integer(found);
}

void reply_ttl(CommandContext& ctx, const Args& a, long long (*in_unit)(microseconds)) {
  const KeyTtl ttl = ctx.store.ttl(a[1]);
  switch (ttl.state) {
    case KeyTtl::State::missing: return ctx.reply.integer(-2);
    case KeyTtl::State::persistent: return ctx.reply.integer(-1);
    case KeyTtl::State::expiring: return ctx.reply.integer(in_unit(ttl.remaining));
  }
}
void ttl(CommandContext& ctx, const Args& a) { reply_ttl(ctx, a, ttl_seconds); }
void pttl(CommandContext& ctx, const Args& a) { reply_ttl(ctx, a, ttl_millis); }

// EXPIRE key time [NX | XX | GT | LT] and its three siblings. A time in the
// past deletes the key. Replies 1 if it set (or deleted), 0 if the key is
// absent or the condition does not hold.
void expire_with(CommandContext& ctx, const Args& a, TimeUnit unit, TimeBase base,
                 std::string_view name) {
  bool nx = false, xx = false, gt = false, lt = false;
  for (std::size_t i = 3; i < a.size(); ++i) {
    const std::string option = to_upper(a[i]);
    if (option == "NX") nx = true;
    else if (option == "XX") xx = true;
    else if (option == "GT") gt = true;
    else if (option == "LT") lt = true;
    else return ctx.reply.error("ERR Unsupported option " + a[i]);
  }
  if (nx && (xx || gt || lt))
    return ctx.reply.error("ERR NX and XX, GT or LT options at the same time are not compatible");
  if (gt && lt) return ctx.reply.error("ERR GT and LT options at the same time are not compatible");
  if (!parse_integer(a[2])) return ctx.reply.error(kNotInteger);
  const auto left = time_left(a[2], unit, base);
  if (!left) return ctx.reply.error(invalid_expire(name));
  const bool changed = ctx.store.update(a[1], [&](const KeyState& now) {
    if (!now.value) return Change::unchanged();
    // With no expiry a key counts as living forever (GT never holds, LT always does).
    if ((nx && now.ttl) || (xx && !now.ttl) || (gt && (!now.ttl || *left <= *now.ttl)) ||
        (lt && now.ttl && *left >= *now.ttl)) {
      return Change::unchanged();
    }
    if (left->count() <= 0) return Change::erase();
    return Change::put(std::string(*now.value), *left);
  });
  ctx.reply.integer(changed ? 1 : 0);
}
void expire(CommandContext& ctx, const Args& a) {
  expire_with(ctx, a, TimeUnit::seconds, TimeBase::relative, "expire");
}
void pexpire(CommandContext& ctx, const Args& a) {
  expire_with(ctx, a, TimeUnit::milliseconds, TimeBase::relative, "pexpire");
}
void expireat(CommandContext& ctx, const Args& a) {
  expire_with(ctx, a, TimeUnit::seconds, TimeBase::unix_epoch, "expireat");
}
void pexpireat(CommandContext& ctx, const Args& a) {
  expire_with(ctx, a, TimeUnit::milliseconds, TimeBase::unix_epoch, "pexpireat");
}

void persist(CommandContext& ctx, const Args& a) {
  ctx.reply.integer(ctx.store.persist(a[1]) ? 1 : 0);
}

// Keys matching a glob, from the store's cursor scan (never a copy of every
// key, only of the matches).
void keys(CommandContext& ctx, const Args& a) {
  const std::string& pattern = a[1];
  const std::string prefix = glob_literal_prefix(pattern);
  std::vector<std::string> found;
  std::uint64_t cursor = 0;
  do {
    ScanPage page = ctx.store.scan(cursor, prefix, 1024);
    for (auto& key : page.keys) {
      if (glob_match(pattern, key)) found.push_back(std::move(key));
    }
    cursor = page.next_cursor;
  } while (cursor != 0);
  ctx.reply.array(found.size());
  for (const auto& key : found) ctx.reply.bulk(key);
}

// SCAN cursor [MATCH pattern] [COUNT count] [TYPE type]
void scan(CommandContext& ctx, const Args& a) {
  const auto cursor = parse_unsigned(a[1]);
  if (!cursor) return ctx.reply.error("ERR invalid cursor");
  std::string pattern = "*";
  long long count = 10;
  bool strings = true;
  for (std::size_t i = 2; i < a.size(); i += 2) {
    const std::string option = to_upper(a[i]);
    if (i + 1 >= a.size()) return ctx.reply.error(kSyntaxError);
    if (option == "MATCH") {
      pattern = a[i + 1];
    } else if (option == "COUNT") {
      const auto n = parse_integer(a[i + 1]);
      if (!n) return ctx.reply.error(kNotInteger);
      if (*n < 1) return ctx.reply.error(kSyntaxError);
      count = *n;
    } else if (option == "TYPE") {
      strings = equals_ignoring_case(a[i + 1], "string");  // the only type pyk holds
    } else {
      return ctx.reply.error(kSyntaxError);
    }
  }
  ScanPage page;
  if (strings) page = ctx.store.scan(*cursor, glob_literal_prefix(pattern), static_cast<std::size_t>(count));
  ctx.reply.array(2);
  ctx.reply.bulk(std::to_string(page.next_cursor));
  std::size_t matches = 0;
  for (const auto& key : page.keys) matches += glob_match(pattern, key) ? 1 : 0;
  ctx.reply.array(matches);
  for (const auto& key : page.keys) {
    if (glob_match(pattern, key)) ctx.reply.bulk(key);
  }
}

void dbsize(CommandContext& ctx, const Args&) {
  ctx.reply.integer(static_cast<long long>(ctx.store.size()));
}

}  // namespace

std::vector<CommandSpec> key_commands() {
  return {
      {"del", -2, true, 1, -1, 1, del},
      {"unlink", -2, true, 1, -1, 1, del},
      {"exists", -2, false, 1, -1, 1, exists},
      {"ttl", 2, false, 1, 1, 1, ttl},
      {"pttl", 2, false, 1, 1, 1, pttl},
      {"expire", -3, true, 1, 1, 1, expire},
      {"pexpire", -3, true, 1, 1, 1, pexpire},
      {"expireat", -3, true, 1, 1, 1, expireat},
      {"pexpireat", -3, true, 1, 1, 1, pexpireat},
      {"persist", 2, true, 1, 1, 1, persist},
      {"keys", 2, false, 0, 0, 0, keys},
      {"scan", -2, false, 0, 0, 0, scan},
      {"dbsize", 1, false, 0, 0, 0, dbsize},
  };
}

}  // namespace pyk::server
