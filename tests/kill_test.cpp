// Real crashes: a forked writer (puts, erases, batches, merges) reports every
// acknowledged operation through a pipe and is killed with SIGKILL at a
// random moment (also while opening, rotating, writing a batch or syncing);
// the parent reopens and checks that the store holds exactly the state after
// the acknowledged operations, or after one more (the one in flight). A kill
// keeps the page cache, so this checks what the process leaves on disk under
// each SyncPolicy (always; interval, with its sync thread; none, with sync()
// calls), not what a power cut would (see crash_test.cpp, durability_test.cpp).
//   suite sigkill; PYK_KILL_ROUNDS=N rounds per backend and policy (default 25)
#include <boost/test/unit_test.hpp>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>
#include <random>
#include <set>
#include <thread>

#include "core/error.h"
#include "tests/backend_fixtures.h"

using namespace pyk;
using namespace pyk::test;

namespace {

using State = std::map<std::string, std::string>;
using Expiring = std::set<std::string>;  // keys whose newest put has a TTL

// The writer's operations, generated the same way in the child and the parent.
struct KillOp {
  enum Kind { put, erase, batch, merge } kind = put;
  std::vector<std::pair<std::string, std::optional<std::string>>> writes;  // nullopt = erase
  bool ttl = false;  // a put that expires in an hour
};

class OpSource {
 public:
  explicit OpSource(std::uint64_t seed) : rng_(seed), seed_(seed) {}
  KillOp next() {
    KillOp op;
    const auto roll = uniform(0, 99);
    op.kind = roll < 60 ? KillOp::put : roll < 78 ? KillOp::erase : roll < 97 ? KillOp::batch
                                                                              : KillOp::merge;
    if (op.kind == KillOp::merge) return op;  // changes no key
    const std::uint64_t n = op.kind == KillOp::batch ? uniform(1, 6) : 1;
    for (std::uint64_t i = 0; i < n; ++i) {
      std::string key = "k" + std::to_string(uniform(0, 199));
      if (op.kind == KillOp::erase || (op.kind == KillOp::batch && uniform(0, 3) == 0)) {
        op.writes.emplace_back(std::move(key), std::nullopt);
      } else {
        std::string value = std::to_string(seed_) + "." + std::to_string(count_++) + ":";
        value.resize(value.size() + uniform(0, 600), char('a' + count_ % 26));
        op.writes.emplace_back(std::move(key), std::move(value));
      }
    }
    op.ttl = op.kind == KillOp::put && uniform(0, 3) == 0;
    return op;
  }

 private:
  std::uint64_t uniform(std::uint64_t lo, std::uint64_t hi) {
    return std::uniform_int_distribution<std::uint64_t>(lo, hi)(rng_);
  }
  std::mt19937_64 rng_;
  std::uint64_t seed_;
  std::uint64_t count_ = 0;
};

void apply_op(State& state, Expiring& expiring, const KillOp& op) {
  for (const auto& [key, value] : op.writes) {
    if (value) {
      state[key] = *value;
    } else {
      state.erase(key);
    }
    if (op.ttl) {
      expiring.insert(key);
    } else {
      expiring.erase(key);
    }
  }
}

// The child: writes until killed (or done), acknowledging each operation.
// Only the store and write(2); never returns.
[[noreturn]] void run_writer(const std::string& path, Options options, std::uint64_t seed,
                             std::uint32_t ops, int ack_fd) {
  // Under `none` the writer syncs by hand every few operations.
  const bool sync_by_hand = options.sync == SyncPolicy::none;
  try {
    Store db = Store::open(path, options);
    OpSource source(seed);
    for (std::uint32_t i = 0; i < ops; ++i) {
      const KillOp op = source.next();
      if (op.kind == KillOp::put && op.ttl) {
        db.put(op.writes[0].first, *op.writes[0].second, std::chrono::hours(1));
      } else if (op.kind == KillOp::put) {
        db.put(op.writes[0].first, *op.writes[0].second);
      } else if (op.kind == KillOp::erase) {
        db.erase(op.writes[0].first);
      } else if (op.kind == KillOp::merge) {
        db.merge();
      } else {
        WriteBatch batch;
        for (const auto& [key, value] : op.writes) {
          if (value) {
            batch.put(key, *value);
          } else {
            batch.erase(key);
          }
        }
        db.write(batch);
      }
      if (sync_by_hand && i % 8 == 7) db.sync();
      if (::write(ack_fd, &i, sizeof i) != sizeof i) ::_exit(4);
    }
    db.close();
  } catch (...) {
    ::_exit(3);
  }
  ::_exit(0);
}

State read_state(const Store& db) {
  State out;
  db.for_each([&](std::string_view k, std::string_view v) { out.emplace(k, v); });
  return out;
}

std::string diff(const State& got, const State& want) {
  for (const auto& [k, v] : want) {
    auto it = got.find(k);
    if (it == got.end()) return "key " + k + " is missing";
    if (it->second != v) return "key " + k + " holds " + it->second.substr(0, 20) + ", not " + v.substr(0, 20);
  }
  for (const auto& [k, v] : got)
    if (!want.contains(k)) return "key " + k + " should not be there";
  return "";
}

template <class Backend>
void kill_rounds(SyncPolicy policy) {
  const char* text = std::getenv("PYK_KILL_ROUNDS");
  const int rounds = text && *text ? std::atoi(text) : 25;
  StoreEnv<Backend> env;
  Options options = env.options;
  options.sync = policy;
  options.sync_interval = std::chrono::milliseconds(2);  // many background syncs per round
  options.max_segment_size = 8192;  // rotate every few operations
  std::mt19937_64 rng(0xC0FFEE);
  State state;  // what the store held when the round started
  Expiring expiring;
  // Two hours on, read-only: the keys last put with a TTL must have expired.
  Options later = options;
  later.read_only = true;
  later.clock = [] { return std::chrono::system_clock::now() + std::chrono::hours(2); };
  std::uint64_t acked_total = 0, in_flight_landed = 0, finished = 0, expiries_checked = 0;
  for (int round = 0; round < rounds; ++round) {
    const std::uint64_t seed = 1000 + round;
    // Enough that the writer is still busy when killed, few enough that the
    // acks fit in the pipe (64 KB), which is read only after the kill.
    const std::uint32_t max_ops = policy == SyncPolicy::always ? 3000 : 16000;
    int fds[2];
    BOOST_TEST_REQUIRE(::pipe(fds) == 0);
    const pid_t child = ::fork();
    BOOST_TEST_REQUIRE(child >= 0);
    if (child == 0) {
      ::close(fds[0]);
      run_writer(env.dir.str(), options, seed, max_ops, fds[1]);
    }
    ::close(fds[1]);
    // Kill at a random moment: sometimes while it opens, mostly while it writes.
    const auto delay = std::chrono::microseconds(
        std::uniform_int_distribution<int>(0, 100)(rng) < 15
            ? std::uniform_int_distribution<int>(0, 2000)(rng)
            : std::uniform_int_distribution<int>(2000, 40000)(rng));
    std::this_thread::sleep_for(delay);
    ::kill(child, SIGKILL);
    int status = 0;
    BOOST_TEST_REQUIRE(::waitpid(child, &status, 0) == child);
    std::vector<std::uint32_t> acks;
    std::uint32_t ack;
    while (::read(fds[0], &ack, sizeof ack) == sizeof ack) acks.push_back(ack);
    ::close(fds[0]);
    const bool killed = WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
    BOOST_TEST_REQUIRE((killed || (WIFEXITED(status) && WEXITSTATUS(status) == 0)),
                       "round " << round << ": writer failed, status " << status);
    finished += !killed;
    for (std::size_t i = 0; i < acks.size(); ++i) BOOST_TEST_REQUIRE(acks[i] == i);
    acked_total += acks.size();

    // The store must hold the state after some prefix of the operations: at
    // least those whose durability was promised before the kill (under
    // `always` every acknowledged one; under `none` those before the last
    // acknowledged sync(); under `interval` none for sure, as a buffered
    // backend loses what the sync thread had not reached), at most one more
    // than were acknowledged (the one in flight).
    std::size_t promised = acks.size();
    if (policy == SyncPolicy::interval) promised = 0;
    if (policy == SyncPolicy::none) promised = acks.size() / 8 * 8;
    const std::size_t most = std::min<std::size_t>(acks.size() + 1, max_ops);

    try {
      Store db = Store::open(env.dir.str(), options);  // (3) opens without error
      const State got = read_state(db);
      OpSource source(seed);
      State prefix = state;
      Expiring prefix_expiring = expiring;
      std::size_t k = 0;
      for (; k < promised; ++k) apply_op(prefix, prefix_expiring, source.next());
      const std::string d1 = diff(got, prefix);
      while (k < most && !diff(got, prefix).empty()) {
        apply_op(prefix, prefix_expiring, source.next());
        ++k;
      }
      if (!diff(got, prefix).empty()) {
        BOOST_ERROR("round " << round << " (" << acks.size() << " acks, " << promised
                             << " promised durable, killed after " << delay.count()
                             << " us): no prefix of at least " << promised
                             << " operations matches; against that many: " << d1);
        return;
      }
      in_flight_landed += k > acks.size();
      state = got;
      expiring = prefix_expiring;
      expiries_checked += expiring.size();
      db.close();
      Store aged = Store::open(env.dir.str(), later);
      for (const auto& [key, value] : state) {
        if (aged.contains(key) == expiring.contains(key)) {
          BOOST_ERROR("round " << round << ": key " << key << " lost or kept its TTL");
          return;
        }
      }
    } catch (const Error& e) {
      // Keep the evidence: TempDir removes the store when the test ends.
      const auto kept = std::filesystem::temp_directory_path() /
                        ("pyk-kill-failure-" + std::string(Backend::name));
      std::error_code ignored;
      std::filesystem::remove_all(kept, ignored);
      std::filesystem::copy(env.dir.path(), kept, ignored);
      BOOST_ERROR("round " << round << ": reopen failed: " << e.what() << "\nstore kept in "
                           << kept.string() << "\n" << env.log);
      return;
    }
  }
  // Rounds whose writer finished before the kill checked nothing in flight.
  BOOST_TEST(finished * 4 <= static_cast<std::uint64_t>(rounds),
             finished << " of " << rounds << " writers finished before the kill");
  BOOST_TEST(acked_total > 0u);
  const char* policy_name = policy == SyncPolicy::always     ? "always"
                            : policy == SyncPolicy::interval ? "interval"
                                                             : "none + sync()";
  std::cout << "kill (" << Backend::name << ", " << policy_name << "): " << rounds << " SIGKILL rounds, " << acked_total
            << " acknowledged operations checked, " << in_flight_landed
            << " in-flight operations found applied, " << expiries_checked << " expiry checks, "
            << finished << " writers finished first\n";
}

}  // namespace

BOOST_AUTO_TEST_SUITE(sigkill)

BOOST_AUTO_TEST_CASE(sigkilled_writer_keeps_acknowledged_writes_file) {
  kill_rounds<FileBackend>(SyncPolicy::always);
}
BOOST_AUTO_TEST_CASE(sigkilled_writer_keeps_acknowledged_writes_mmap) {
  kill_rounds<MmapBackend>(SyncPolicy::always);
}
BOOST_AUTO_TEST_CASE(sigkilled_interval_writer_keeps_acknowledged_writes_file) {
  kill_rounds<FileBackend>(SyncPolicy::interval);
}
BOOST_AUTO_TEST_CASE(sigkilled_interval_writer_keeps_acknowledged_writes_mmap) {
  kill_rounds<MmapBackend>(SyncPolicy::interval);
}
BOOST_AUTO_TEST_CASE(sigkilled_writer_syncing_by_hand_keeps_acknowledged_writes_file) {
  kill_rounds<FileBackend>(SyncPolicy::none);
}
BOOST_AUTO_TEST_CASE(sigkilled_writer_syncing_by_hand_keeps_acknowledged_writes_mmap) {
  kill_rounds<MmapBackend>(SyncPolicy::none);
}

BOOST_AUTO_TEST_SUITE_END()
