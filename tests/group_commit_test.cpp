// GroupCommit on its own: concurrent writers share fsyncs, and none returns
// before a sync that started after its append.
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

#include "core/format.h"
#include "core/group_commit.h"
#include "core/segment_wrapper.h"
#include "tests/backend_fixtures.h"

using namespace pyk;

namespace {

// A segment whose sync takes a while (like a disk's) and records, for each
// sync, how many appends had been counted when it started.
class SlowSyncSegment final : public SegmentWrapper {
 public:
  SlowSyncSegment(std::unique_ptr<Segment> target, const std::atomic<std::uint64_t>& appended)
      : SegmentWrapper(std::move(target)), appended_(appended) {}
  void sync() override {
    const std::uint64_t covered = appended_.load();
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    SegmentWrapper::sync();
    std::lock_guard lock(mutex_);
    synced_up_to_.push_back(covered);
  }
  std::vector<std::uint64_t> syncs() const {
    std::lock_guard lock(mutex_);
    return synced_up_to_;
  }

 private:
  const std::atomic<std::uint64_t>& appended_;
  mutable std::mutex mutex_;
  std::vector<std::uint64_t> synced_up_to_;
};

}  // namespace

BOOST_AUTO_TEST_SUITE(group_commit)

BOOST_AUTO_TEST_CASE(concurrent_writers_share_syncs_and_each_waits_for_its_own) {
  test::TempDir dir;
  auto directory = open_directory("memory", dir.str(), true);
  std::atomic<std::uint64_t> appended_seen{0};  // what the segment sees at sync start
  auto segment = std::make_shared<SlowSyncSegment>(directory->create("s", 1 << 20), appended_seen);
  std::mutex write_mutex;  // stands for the store's write mutex
  GroupCommit* commit_ptr = nullptr;
  GroupCommit commit(SyncPolicy::always, [&] {
    std::lock_guard lock(write_mutex);
    return GroupCommit::Target{segment, commit_ptr->appended()};
  });
  commit_ptr = &commit;

  constexpr int kThreads = 4, kWrites = 50;
  std::atomic<int> early_returns{0};
  std::vector<std::thread> writers;
  for (int t = 0; t < kThreads; ++t) {
    writers.emplace_back([&] {
      for (int i = 0; i < kWrites; ++i) {
        std::uint64_t sequence;
        {
          std::lock_guard lock(write_mutex);
          segment->append(format::as_bytes("x"));
          sequence = commit.count_append();
          appended_seen = sequence;
        }
        commit.sync_to(sequence);
        // Some sync that started after this append must have ended by now.
        bool covered = false;
        for (std::uint64_t up_to : segment->syncs()) covered |= up_to >= sequence;
        if (!covered) ++early_returns;
      }
    });
  }
  for (auto& w : writers) w.join();
  const auto syncs = segment->syncs();
  BOOST_TEST(early_returns == 0);
  BOOST_TEST_MESSAGE(kThreads * kWrites << " durable writes took " << syncs.size() << " syncs");
  // Four writers waiting on 2 ms syncs overlap: one sync per write would
  // mean no sync was ever shared. (Typically a quarter as many syncs.)
  BOOST_TEST(syncs.size() < static_cast<std::size_t>(kThreads * kWrites));
  BOOST_TEST(syncs.back() == static_cast<std::uint64_t>(kThreads * kWrites));
}

BOOST_AUTO_TEST_CASE(sync_to_an_already_durable_sequence_does_not_sync_again) {
  test::TempDir dir;
  auto directory = open_directory("memory", dir.str(), true);
  std::atomic<std::uint64_t> appended_seen{0};
  auto segment = std::make_shared<SlowSyncSegment>(directory->create("s", 1 << 20), appended_seen);
  GroupCommit* commit_ptr = nullptr;
  GroupCommit commit(SyncPolicy::always,
                     [&] { return GroupCommit::Target{segment, commit_ptr->appended()}; });
  commit_ptr = &commit;
  appended_seen = commit.count_append();
  commit.sync_to(1);
  commit.sync_to(1);
  commit.sync_all();
  BOOST_TEST(segment->syncs().size() == 1u);
}

BOOST_AUTO_TEST_CASE(segments_sealed_unsynced_are_synced_first_oldest_first) {
  test::TempDir dir;
  auto directory = open_directory("memory", dir.str(), true);
  std::vector<std::string> order;
  std::mutex order_mutex;
  struct Named final : SegmentWrapper {
    Named(std::unique_ptr<Segment> t, std::string n, std::vector<std::string>& o, std::mutex& m)
        : SegmentWrapper(std::move(t)), label(std::move(n)), out(o), mu(m) {}
    void sync() override {
      std::lock_guard lock(mu);
      out.push_back(label);
    }
    std::string label;
    std::vector<std::string>& out;
    std::mutex& mu;
  };
  auto first = std::make_shared<Named>(directory->create("1", 0), "1", order, order_mutex);
  auto second = std::make_shared<Named>(directory->create("2", 0), "2", order, order_mutex);
  auto active = std::make_shared<Named>(directory->create("3", 0), "3", order, order_mutex);
  GroupCommit* commit_ptr = nullptr;
  GroupCommit commit(SyncPolicy::none, [&] {
    return GroupCommit::Target{active, commit_ptr->appended(), {first, second}};
  });
  commit_ptr = &commit;
  commit.count_append();
  commit.sync_all();  // Store::sync(): everything before it, rotated segments included
  BOOST_TEST(order == (std::vector<std::string>{"1", "2", "3"}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_SUITE_END()
