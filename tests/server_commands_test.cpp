// The command layer and Session, without sockets: RESP in, RESP out,
// against a store on the memory backend.
#include <boost/test/unit_test.hpp>
#include <atomic>
#include <ctime>
#include <initializer_list>
#include <set>
#include <thread>

#include "core/store.h"
#include "tests/temp_dir.h"
#include "tools/server/session.h"
#include "tools/server/sync_batcher.h"

using namespace pyk;
using namespace pyk::server;

BOOST_AUTO_TEST_SUITE(server_commands)

namespace {
std::string encode(std::initializer_list<std::string_view> args) {
  std::string out = "*" + std::to_string(args.size()) + "\r\n";
  for (auto a : args) out += "$" + std::to_string(a.size()) + "\r\n" + std::string(a) + "\r\n";
  return out;
}

struct Server {
  Server() { state.settings.dir = dir.str(); }
  Store open() {
    Options options;
    options.backend = "memory";
    return Store::open(dir.str(), options);
  }
  // Sends raw bytes through the session; returns every reply they produced.
  std::string send(const std::string& bytes) {
    session.receive(bytes);
    std::string out;
    while (session.run()) {
      out += session.output();
      session.sent();
    }
    out += session.output();
    session.sent();
    return out;
  }
  std::string cmd(std::initializer_list<std::string_view> args) { return send(encode(args)); }

  test::TempDir dir;
  Store store = open();
  ServerState state;
  Session session{store, state};
};

std::string bulk(std::string_view s) { return "$" + std::to_string(s.size()) + "\r\n" + std::string(s) + "\r\n"; }
const std::string kOk = "+OK\r\n", kNil = "$-1\r\n";
std::string integer(long long n) { return ":" + std::to_string(n) + "\r\n"; }
}  // namespace

BOOST_FIXTURE_TEST_CASE(ping_echo_select_and_unknown_commands, Server) {
  BOOST_TEST(cmd({"PING"}) == "+PONG\r\n");
  BOOST_TEST(cmd({"ping", "hi"}) == bulk("hi"));
  BOOST_TEST(cmd({"ECHO", "x y"}) == bulk("x y"));
  BOOST_TEST(cmd({"SELECT", "0"}) == kOk);
  BOOST_TEST(cmd({"SELECT", "1"}) == "-ERR DB index is out of range\r\n");
  BOOST_TEST(cmd({"FLUSHALL", "a"}) ==
             "-ERR unknown command 'FLUSHALL', with args beginning with: 'a' \r\n");
  BOOST_TEST(cmd({"GET"}) == "-ERR wrong number of arguments for 'get' command\r\n");
  BOOST_TEST(cmd({"PING", "a", "b"}) == "-ERR wrong number of arguments for 'ping' command\r\n");
}

BOOST_FIXTURE_TEST_CASE(get_set_and_binary_values, Server) {
  const std::string binary("\0\r\n\xff", 4);
  BOOST_TEST(cmd({"GET", "k"}) == kNil);
  BOOST_TEST(cmd({"SET", binary, binary}) == kOk);
  BOOST_TEST(cmd({"GET", binary}) == bulk(binary));
  BOOST_TEST(cmd({"STRLEN", binary}) == integer(4));
  BOOST_TEST(cmd({"STRLEN", "nope"}) == integer(0));
  BOOST_TEST(cmd({"SET", "", "v"}).starts_with("-ERR empty key"));
}

BOOST_FIXTURE_TEST_CASE(set_options_nx_xx_get_keepttl_and_expiry, Server) {
  BOOST_TEST(cmd({"SET", "k", "1", "XX"}) == kNil);
  BOOST_TEST(cmd({"SET", "k", "1", "NX"}) == kOk);
  BOOST_TEST(cmd({"SET", "k", "2", "NX"}) == kNil);
  BOOST_TEST(cmd({"SET", "k", "3", "XX", "GET"}) == bulk("1"));
  BOOST_TEST(cmd({"SET", "fresh", "v", "GET"}) == kNil);
  BOOST_TEST(cmd({"SET", "k", "4", "EX", "100"}) == kOk);
  BOOST_TEST(cmd({"TTL", "k"}) == integer(100));
  BOOST_TEST(cmd({"SET", "k", "5", "KEEPTTL"}) == kOk);
  BOOST_TEST(cmd({"TTL", "k"}) == integer(100));
  BOOST_TEST(cmd({"SET", "k", "6"}) == kOk);  // a plain SET drops the TTL
  BOOST_TEST(cmd({"TTL", "k"}) == integer(-1));
  BOOST_TEST(cmd({"SET", "k", "7", "PX", "5000"}) == kOk);
  const std::string pttl = cmd({"PTTL", "k"});
  BOOST_TEST((pttl == integer(5000) || pttl == integer(4999)));
  const std::string future = std::to_string(std::time(nullptr) + 1000);
  BOOST_TEST(cmd({"SET", "k", "8", "EXAT", future}) == kOk);
  const std::string ttl = cmd({"TTL", "k"});
  BOOST_TEST((ttl == integer(1000) || ttl == integer(999)));
  BOOST_TEST(cmd({"SET", "k", "9", "PXAT", "1000"}) == kOk);  // in the past: gone at once
  BOOST_TEST(cmd({"GET", "k"}) == kNil);
  BOOST_TEST(cmd({"SET", "k", "v", "NX", "XX"}) == "-ERR syntax error\r\n");
  BOOST_TEST(cmd({"SET", "k", "v", "EX", "1", "PX", "1"}) == "-ERR syntax error\r\n");
  BOOST_TEST(cmd({"SET", "k", "v", "EX", "1", "KEEPTTL"}) == "-ERR syntax error\r\n");
  BOOST_TEST(cmd({"SET", "k", "v", "EX"}) == "-ERR syntax error\r\n");
  BOOST_TEST(cmd({"SET", "k", "v", "EX", "0"}) == "-ERR invalid expire time in 'set' command\r\n");
  BOOST_TEST(cmd({"SET", "k", "v", "EX", "x"}) ==
             "-ERR value is not an integer or out of range\r\n");
  BOOST_TEST(cmd({"SET", "k", "v", "EX", "9223372036854775807"}) ==
             "-ERR invalid expire time in 'set' command\r\n");
  BOOST_TEST(cmd({"SET", "k", "v", "BOGUS"}) == "-ERR syntax error\r\n");
}

BOOST_FIXTURE_TEST_CASE(setnx_setex_psetex_getdel, Server) {
  BOOST_TEST(cmd({"SETNX", "k", "a"}) == integer(1));
  BOOST_TEST(cmd({"SETNX", "k", "b"}) == integer(0));
  BOOST_TEST(cmd({"GET", "k"}) == bulk("a"));
  BOOST_TEST(cmd({"SETEX", "e", "10", "v"}) == kOk);
  BOOST_TEST(cmd({"TTL", "e"}) == integer(10));
  BOOST_TEST(cmd({"SETEX", "e", "0", "v"}) == "-ERR invalid expire time in 'setex' command\r\n");
  BOOST_TEST(cmd({"PSETEX", "p", "1500", "v"}) == kOk);
  BOOST_TEST(cmd({"TTL", "p"}) == integer(2));  // 1.5 s rounds as in Redis
  BOOST_TEST(cmd({"PSETEX", "p", "-1", "v"}) == "-ERR invalid expire time in 'psetex' command\r\n");
  BOOST_TEST(cmd({"GETDEL", "k"}) == bulk("a"));
  BOOST_TEST(cmd({"GETDEL", "k"}) == kNil);
  BOOST_TEST(cmd({"EXISTS", "k"}) == integer(0));
}

BOOST_FIXTURE_TEST_CASE(mget_mset_del_unlink_exists_dbsize, Server) {
  BOOST_TEST(cmd({"MSET", "a", "1", "b", "2", "c", "3"}) == kOk);
  BOOST_TEST(cmd({"MSET", "a", "1", "b"}) == "-ERR wrong number of arguments for 'mset' command\r\n");
  BOOST_TEST(cmd({"MGET", "a", "zz", "c"}) == "*3\r\n" + bulk("1") + kNil + bulk("3"));
  BOOST_TEST(cmd({"EXISTS", "a", "a", "zz"}) == integer(2));
  BOOST_TEST(cmd({"DBSIZE"}) == integer(3));
  BOOST_TEST(cmd({"DEL", "a", "zz"}) == integer(1));
  BOOST_TEST(cmd({"UNLINK", "b", "c"}) == integer(2));
  BOOST_TEST(cmd({"DBSIZE"}) == integer(0));
}

BOOST_FIXTURE_TEST_CASE(incr_family_checks_integers_and_overflow_and_keeps_ttl, Server) {
  BOOST_TEST(cmd({"INCR", "n"}) == integer(1));
  BOOST_TEST(cmd({"INCRBY", "n", "41"}) == integer(42));
  BOOST_TEST(cmd({"DECR", "n"}) == integer(41));
  BOOST_TEST(cmd({"DECRBY", "n", "50"}) == integer(-9));
  BOOST_TEST(cmd({"GET", "n"}) == bulk("-9"));
  BOOST_TEST(cmd({"SET", "s", "abc"}) == kOk);
  BOOST_TEST(cmd({"INCR", "s"}) == "-ERR value is not an integer or out of range\r\n");
  BOOST_TEST(cmd({"SET", "s", " 1"}) == kOk);
  BOOST_TEST(cmd({"INCR", "s"}) == "-ERR value is not an integer or out of range\r\n");
  BOOST_TEST(cmd({"INCRBY", "n", "x"}) == "-ERR value is not an integer or out of range\r\n");
  BOOST_TEST(cmd({"SET", "big", "9223372036854775807"}) == kOk);
  BOOST_TEST(cmd({"INCR", "big"}) == "-ERR increment or decrement would overflow\r\n");
  BOOST_TEST(cmd({"DECRBY", "n", "-9223372036854775808"}) ==
             "-ERR value is not an integer or out of range\r\n");
  BOOST_TEST(cmd({"SET", "t", "1", "EX", "100"}) == kOk);
  BOOST_TEST(cmd({"INCR", "t"}) == integer(2));
  BOOST_TEST(cmd({"TTL", "t"}) == integer(100));
}

BOOST_FIXTURE_TEST_CASE(ttl_expire_persist_and_their_options, Server) {
  BOOST_TEST(cmd({"TTL", "k"}) == integer(-2));
  BOOST_TEST(cmd({"EXPIRE", "k", "10"}) == integer(0));
  BOOST_TEST(cmd({"SET", "k", "v"}) == kOk);
  BOOST_TEST(cmd({"TTL", "k"}) == integer(-1));
  BOOST_TEST(cmd({"PERSIST", "k"}) == integer(0));
  BOOST_TEST(cmd({"EXPIRE", "k", "10", "XX"}) == integer(0));
  BOOST_TEST(cmd({"EXPIRE", "k", "10", "GT"}) == integer(0));  // no TTL counts as forever
  BOOST_TEST(cmd({"EXPIRE", "k", "10", "NX"}) == integer(1));
  BOOST_TEST(cmd({"EXPIRE", "k", "20", "NX"}) == integer(0));
  BOOST_TEST(cmd({"EXPIRE", "k", "5", "GT"}) == integer(0));
  BOOST_TEST(cmd({"EXPIRE", "k", "50", "GT"}) == integer(1));
  BOOST_TEST(cmd({"EXPIRE", "k", "60", "LT"}) == integer(0));
  BOOST_TEST(cmd({"PEXPIRE", "k", "30000", "LT"}) == integer(1));
  BOOST_TEST(cmd({"TTL", "k"}) == integer(30));
  BOOST_TEST(cmd({"GET", "k"}) == bulk("v"));
  BOOST_TEST(cmd({"EXPIREAT", "k", std::to_string(std::time(nullptr) + 500)}) == integer(1));
  const std::string ttl = cmd({"TTL", "k"});
  BOOST_TEST((ttl == integer(500) || ttl == integer(499)));
  BOOST_TEST(cmd({"PERSIST", "k"}) == integer(1));
  BOOST_TEST(cmd({"TTL", "k"}) == integer(-1));
  BOOST_TEST(cmd({"EXPIRE", "k", "10", "NX", "XX"}) ==
             "-ERR NX and XX, GT or LT options at the same time are not compatible\r\n");
  BOOST_TEST(cmd({"EXPIRE", "k", "x"}) == "-ERR value is not an integer or out of range\r\n");
  BOOST_TEST(cmd({"EXPIRE", "k", "9223372036854775807"}) ==
             "-ERR invalid expire time in 'expire' command\r\n");
  BOOST_TEST(cmd({"PEXPIREAT", "k", "1"}) == integer(1));  // in the past: deleted
  BOOST_TEST(cmd({"EXISTS", "k"}) == integer(0));
  BOOST_TEST(cmd({"SET", "k", "v"}) == kOk);
  BOOST_TEST(cmd({"EXPIRE", "k", "-1"}) == integer(1));
  BOOST_TEST(cmd({"GET", "k"}) == kNil);
}

BOOST_FIXTURE_TEST_CASE(keys_and_scan_follow_globs_and_cursors, Server) {
  for (int i = 0; i < 300; ++i) cmd({"SET", "user:" + std::to_string(i), "v"});
  cmd({"SET", "other", "v"});
  cmd({"SET", "u[x]", "v"});
  const std::string all = cmd({"KEYS", "*"});
  BOOST_TEST(all.starts_with("*302\r\n"));
  BOOST_TEST(cmd({"KEYS", "user:1?"}).starts_with("*10\r\n"));
  BOOST_TEST(cmd({"KEYS", "u\\[x\\]"}) == "*1\r\n" + bulk("u[x]"));
  BOOST_TEST(cmd({"KEYS", "nomatch*"}) == "*0\r\n");
  // SCAN until cursor 0: every user: key once (nothing is written meanwhile).
  std::set<std::string> seen;
  std::string cursor = "0";
  int pages = 0;
  do {
    Args args{"SCAN", cursor, "MATCH", "user:*", "COUNT", "25"};
    std::string reply;
    session.receive(encode({args[0], args[1], args[2], args[3], args[4], args[5]}));
    session.run();
    reply = session.output();
    session.sent();
    // *2\r\n$N\r\n<cursor>\r\n*M\r\n then M bulks
    std::size_t p = reply.find("\r\n", 4);
    const std::size_t cursor_start = p + 2;
    p = reply.find("\r\n", cursor_start);
    cursor = reply.substr(cursor_start, p - cursor_start);
    p = reply.find("\r\n", p + 2);  // end of *M
    while ((p = reply.find("\r\n", p + 2)) != std::string::npos && p + 2 < reply.size()) {
      const std::size_t start = p + 2;
      p = reply.find("\r\n", start);
      seen.insert(reply.substr(start, p - start));
    }
    ++pages;
  } while (cursor != "0" && pages < 1000);
  BOOST_TEST(cursor == "0");
  BOOST_TEST(seen.size() == 300u);
  BOOST_TEST(pages > 5);
  BOOST_TEST(cmd({"SCAN", "x"}) == "-ERR invalid cursor\r\n");
  BOOST_TEST(cmd({"SCAN", "0", "COUNT", "0"}) == "-ERR syntax error\r\n");
  BOOST_TEST(cmd({"SCAN", "0", "MATCH"}) == "-ERR syntax error\r\n");
  BOOST_TEST(cmd({"SCAN", "0", "TYPE", "hash"}) == "*2\r\n" + bulk("0") + "*0\r\n");
  BOOST_TEST(cmd({"SCAN", "12345678901234567"}).starts_with("*2\r\n"));  // forged: safe
}

BOOST_FIXTURE_TEST_CASE(info_command_and_config_get, Server) {
  cmd({"SET", "k", "v"});
  const std::string info = cmd({"INFO"});
  for (const char* field : {"redis_version:", "connected_clients:", "db0:keys=1", "keydir_bytes:",
                            "used_memory_rss:", "total_commands_processed:"}) {
    BOOST_TEST(info.find(field) != std::string::npos, field);
  }
  const std::string keyspace = cmd({"INFO", "keyspace"});
  BOOST_TEST(keyspace.find("db0:keys=1") != std::string::npos);
  BOOST_TEST(keyspace.find("redis_version") == std::string::npos);
  BOOST_TEST(cmd({"CONFIG", "GET", "save"}) == "*2\r\n" + bulk("save") + bulk(""));
  BOOST_TEST(cmd({"CONFIG", "GET", "APPENDONLY"}) == "*2\r\n" + bulk("appendonly") + bulk("yes"));
  BOOST_TEST(cmd({"CONFIG", "GET", "nothing"}) == "*0\r\n");
  BOOST_TEST(cmd({"CONFIG", "SET", "save", ""}).starts_with("-ERR unknown subcommand"));
  BOOST_TEST(cmd({"COMMAND", "COUNT"}) == integer(static_cast<long long>(CommandTable::standard().commands().size())));
  BOOST_TEST(cmd({"COMMAND", "INFO", "get", "nope"}) ==
             "*2\r\n*6\r\n" + bulk("get") + ":2\r\n*1\r\n+readonly\r\n:1\r\n:1\r\n:1\r\n*-1\r\n");
  BOOST_TEST(cmd({"COMMAND", "DOCS"}) == "*0\r\n");
  BOOST_TEST(cmd({"COMMAND"}).starts_with("*" + std::to_string(CommandTable::standard().commands().size())));
}

BOOST_FIXTURE_TEST_CASE(pipelined_commands_answer_in_order, Server) {
  const std::string replies =
      send(encode({"SET", "a", "1"}) + "INCR a\r\n" + encode({"GET", "a"}) + "PING\r\n");
  BOOST_TEST(replies == kOk + integer(2) + bulk("2") + "+PONG\r\n");
  BOOST_TEST(state.counters.commands.load() == 4u);
  BOOST_TEST(state.counters.write_commands.load() == 2u);
}

BOOST_FIXTURE_TEST_CASE(quit_answers_then_closes_and_ignores_the_rest, Server) {
  BOOST_TEST(send("PING\r\nQUIT\r\nPING\r\n") == "+PONG\r\n+OK\r\n");
  BOOST_TEST(session.closing());
}

BOOST_FIXTURE_TEST_CASE(a_protocol_error_is_answered_and_ends_the_session, Server) {
  BOOST_TEST(send("PING\r\n*1\r\n$-7\r\nPING\r\n") ==
             "+PONG\r\n-ERR Protocol error: invalid bulk length\r\n");
  BOOST_TEST(session.closing());
  BOOST_TEST(!session.dropped());
}

BOOST_FIXTURE_TEST_CASE(garbage_bytes_get_error_replies_not_a_crash, Server) {
  std::string garbage;
  for (int i = 0; i < 4096; ++i) garbage += static_cast<char>((i * 131 + 7) % 256);
  const std::string out = send(garbage);
  BOOST_TEST(!out.empty());
  BOOST_TEST(out[0] == '-');
}

// A client that pipelines without reading gets its replies in batches: the
// session stops at kOutputBatch and resumes once the output is sent.
BOOST_FIXTURE_TEST_CASE(replies_are_produced_in_bounded_batches, Server) {
  cmd({"SET", "big", std::string(10000, 'x')});
  std::string pipeline;
  for (int i = 0; i < 100; ++i) pipeline += encode({"GET", "big"});
  session.receive(pipeline);
  BOOST_TEST(session.run());  // stopped for the output
  BOOST_TEST(session.output().size() < Session::kOutputBatch + 10100);
  BOOST_TEST(session.pending_input() > 0u);
  std::size_t total = session.output().size();
  session.sent();
  while (session.run()) {
    total += session.output().size();
    session.sent();
  }
  total += session.output().size();
  BOOST_TEST(total == 100 * bulk(std::string(10000, 'x')).size());
}

BOOST_FIXTURE_TEST_CASE(a_reply_past_the_output_limit_drops_the_client, Server) {
  state.settings.max_output_bytes = 50000;
  Session limited(store, state);
  cmd({"SET", "big", std::string(10000, 'x')});
  limited.receive(encode({"MGET", "big", "big", "big", "big", "big", "big"}));
  limited.run();
  BOOST_TEST(limited.dropped());
  BOOST_TEST(limited.output().empty());
  BOOST_TEST(state.counters.dropped_clients.load() == 1u);
}

BOOST_FIXTURE_TEST_CASE(store_limits_become_error_replies, Server) {
  state.settings.limits.max_bulk = 128u << 20;
  BOOST_TEST(cmd({"SET", std::string(70000, 'k'), "v"}).starts_with("-ERR key of 70000 bytes"));
  BOOST_TEST(cmd({"PING"}) == "+PONG\r\n");  // and the session goes on
}

// Group commit: many threads asking for a sync at once share few syncs, and
// each callback runs after a sync that started after its request.
BOOST_FIXTURE_TEST_CASE(sync_batcher_covers_many_requests_with_few_syncs, Server) {
  constexpr int kThreads = 8, kRequests = 50;
  std::atomic<int> done{0}, failed{0};
  {
    SyncBatcher batcher(store, state.counters);
    std::vector<std::jthread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < kRequests; ++i) {
          store.put("k" + std::to_string(t), std::to_string(i));
          std::atomic<bool> acked{false};
          batcher.after_sync([&](bool durable) {
            if (!durable) ++failed;
            acked = true;
            acked.notify_one();
          });
          acked.wait(false);
          ++done;
        }
      });
    }
  }
  BOOST_TEST(done.load() == kThreads * kRequests);
  BOOST_TEST(failed.load() == 0);
  BOOST_TEST(state.counters.syncs.load() <= std::uint64_t{kThreads * kRequests});
  BOOST_TEST(state.counters.syncs.load() >= 1u);
}

BOOST_AUTO_TEST_SUITE_END()
