// Commands on string values: GET SET SETNX SETEX PSETEX GETDEL MGET MSET
// INCR INCRBY DECR DECRBY STRLEN.
#include "core/write_batch.h"
#include "tools/server/arguments.h"
#include "tools/server/command_table.h"
#include "tools/server/expiry.h"

namespace pyk::server {
namespace {

using std::chrono::microseconds;

void reply_value(CommandContext& ctx, std::string_view key) {
  thread_local std::string value;
  if (ctx.store.get_into(key, value)) {
    ctx.reply.bulk(value);
  } else {
    ctx.reply.null();
  }
}
void get(CommandContext& ctx, const Args& a) { reply_value(ctx, a[1]); }

// SET key value [NX | XX] [GET] [EX s | PX ms | EXAT t | PXAT t | KEEPTTL]
void set(CommandContext& ctx, const Args& a) {
  bool nx = false, xx = false, want_old = false, keep_ttl = false;
  std::optional<microseconds> left;
  for (std::size_t i = 3; i < a.size(); ++i) {
    const std::string option = to_upper(a[i]);
    const bool expiry_given = left || keep_ttl;
    if (option == "NX" && !xx) {
      nx = true;
    } else if (option == "XX" && !nx) {
      xx = true;
    } else if (option == "GET") {
      want_old = true;
    } else if (option == "KEEPTTL" && !expiry_given) {
      keep_ttl = true;
    } else if ((option == "EX" || option == "PX" || option == "EXAT" || option == "PXAT") &&
               !expiry_given && i + 1 < a.size()) {
      const auto unit = option[0] == 'E' ? TimeUnit::seconds : TimeUnit::milliseconds;
      const auto base = option.size() == 4 ? TimeBase::unix_epoch : TimeBase::relative;
      const auto amount = parse_integer(a[++i]);
      if (!amount) return ctx.reply.error(kNotInteger);
      if (*amount <= 0) return ctx.reply.error(invalid_expire("set"));
      left = time_left(a[i], unit, base);
      if (!left) return ctx.reply.error(invalid_expire("set"));
    } else {
      return ctx.reply.error(kSyntaxError);
    }
  }
  const std::string& key = a[1];
  const std::string& value = a[2];
  if (!nx && !xx && !want_old && !keep_ttl && (!left || left->count() > 0)) {  // the common case
    if (left) {
      ctx.store.put(key, value, *left);
    } else {
      ctx.store.put(key, value);
    }
    return ctx.reply.ok();
  }
  bool refused = false;
  std::optional<std::string> old;
  ctx.store.update(key, [&](const KeyState& now) {
    if (want_old && now.value) old.emplace(*now.value);
    if ((nx && now.value) || (xx && !now.value)) {
      refused = true;
      return Change::unchanged();
    }
    if (left && left->count() <= 0) {  // EXAT/PXAT in the past: set, and gone at once
      return now.value ? Change::erase() : Change::unchanged();
    }
    if (keep_ttl) return Change::put_keeping_expiry(value);
    return left ? Change::put(value, *left) : Change::put(value);
  });
  if (want_old) {
    old ? ctx.reply.bulk(*old) : ctx.reply.null();
  } else {
    refused ? ctx.reply.null() : ctx.reply.ok();
  }
}

void setnx(CommandContext& ctx, const Args& a) {
  ctx.reply.integer(ctx.store.put_if_absent(a[1], a[2]) ? 1 : 0);
}

// SETEX key seconds value / PSETEX key milliseconds value
void set_with_expiry(CommandContext& ctx, const Args& a, TimeUnit unit, std::string_view name) {
  const auto amount = parse_integer(a[2]);
  if (!amount) return ctx.reply.error(kNotInteger);
  const auto left = time_left(a[2], unit, TimeBase::relative);
  if (*amount <= 0 || !left) return ctx.reply.error(invalid_expire(name));
  ctx.store.put(a[1], a[3], *left);
  ctx.reply.ok();
}
void setex(CommandContext& ctx, const Args& a) { set_with_expiry(ctx, a, TimeUnit::seconds, "setex"); }
void psetex(CommandContext& ctx, const Args& a) {
  set_with_expiry(ctx, a, TimeUnit::milliseconds, "psetex");
}

void getdel(CommandContext& ctx, const Args& a) {
  std::optional<std::string> old;
  ctx.store.update(a[1], [&](const KeyState& now) {
    if (!now.value) return Change::unchanged();
    old.emplace(*now.value);
    return Change::erase();
  });
  old ? ctx.reply.bulk(*old) : ctx.reply.null();
}

void mget(CommandContext& ctx, const Args& a) {
  ctx.reply.array(a.size() - 1);
  for (std::size_t i = 1; i < a.size(); ++i) reply_value(ctx, a[i]);
}

// MSET k v [k v ...]: one atomic batch.
void mset(CommandContext& ctx, const Args& a) {
  if (a.size() % 2 != 1) return ctx.reply.error(wrong_arity("mset"));
  WriteBatch batch;
  for (std::size_t i = 1; i < a.size(); i += 2) batch.put(a[i], a[i + 1]);
  ctx.store.write(batch);
  ctx.reply.ok();
}

// INCR and friends: one atomic update, keeping the key's expiry as Redis does.
void add_to(CommandContext& ctx, const std::string& key, long long delta) {
  std::string_view error;
  long long result = 0;
  ctx.store.update(key, [&](const KeyState& now) {
    long long current = 0;
    if (now.value) {
      const auto parsed = parse_integer(*now.value);
      if (!parsed) {
        error = kNotInteger;
        return Change::unchanged();
      }
      current = *parsed;
    }
    if (__builtin_add_overflow(current, delta, &result)) {
      error = "ERR increment or decrement would overflow";
      return Change::unchanged();
    }
    return Change::put_keeping_expiry(std::to_string(result));
  });
  error.empty() ? ctx.reply.integer(result) : ctx.reply.error(error);
}
void incr(CommandContext& ctx, const Args& a) { add_to(ctx, a[1], 1); }
void decr(CommandContext& ctx, const Args& a) { add_to(ctx, a[1], -1); }
void incrby(CommandContext& ctx, const Args& a) {
  const auto delta = parse_integer(a[2]);
  if (!delta) return ctx.reply.error(kNotInteger);
  add_to(ctx, a[1], *delta);
}
void decrby(CommandContext& ctx, const Args& a) {
  const auto delta = parse_integer(a[2]);
  if (!delta || *delta == std::numeric_limits<long long>::min()) return ctx.reply.error(kNotInteger);
  add_to(ctx, a[1], -*delta);
}

void strlen(CommandContext& ctx, const Args& a) {
  const auto pinned = ctx.store.get_pinned(a[1]);
  ctx.reply.integer(pinned ? static_cast<long long>(pinned->value.size()) : 0);
}

}  // namespace

std::vector<CommandSpec> string_commands() {
  return {
      {"get", 2, false, 1, 1, 1, get},
      {"set", -3, true, 1, 1, 1, set},
      {"setnx", 3, true, 1, 1, 1, setnx},
      {"setex", 4, true, 1, 1, 1, setex},
      {"psetex", 4, true, 1, 1, 1, psetex},
      {"getdel", 2, true, 1, 1, 1, getdel},
      {"mget", -2, false, 1, -1, 1, mget},
      {"mset", -3, true, 1, -1, 2, mset},
      {"incr", 2, true, 1, 1, 1, incr},
      {"incrby", 3, true, 1, 1, 1, incrby},
      {"decr", 2, true, 1, 1, 1, decr},
      {"decrby", 3, true, 1, 1, 1, decrby},
      {"strlen", 2, false, 1, 1, 1, strlen},
  };
}

}  // namespace pyk::server
