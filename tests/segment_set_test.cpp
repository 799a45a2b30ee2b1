// SegmentSet: per-segment accounting of keydir changes, the active segment,
// replay order and merge candidates.
#include <boost/test/unit_test.hpp>

#include "core/format.h"
#include "core/segment_set.h"
#include "tests/backend_fixtures.h"

using namespace pyk;

namespace {

struct SetFixture {
  test::TempDir dir;
  std::shared_ptr<Directory> directory = open_directory("memory", dir.str(), true);
  SegmentSet set;

  // A segment of `bytes` bytes (header included) added with `rank`.
  SegmentSet::Entry& add(std::uint32_t id, std::uint32_t rank, std::size_t bytes) {
    std::shared_ptr<Segment> s = directory->create(std::to_string(id), bytes);
    s->append(format::as_bytes(std::string(bytes, 'x')));
    return set.add(id, s, rank);
  }
  const SegmentStats& stats(std::uint32_t id) { return set.find(id)->stats; }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(segment_set)

BOOST_FIXTURE_TEST_CASE(overwrite_moves_bytes_from_live_to_dead_in_the_old_segment, SetFixture) {
  auto& one = add(1, 1, 1000);
  auto& two = add(2, 2, 1000);
  const Location first{1, 32, 100, 0}, second{2, 32, 80, 0};
  set.count_put(one, std::nullopt, first);
  set.count_put(two, first, second);
  BOOST_TEST(stats(1).live_keys == 0u);
  BOOST_TEST(stats(1).live_bytes == 0u);
  BOOST_TEST(stats(1).dead_bytes == 100u);
  BOOST_TEST(stats(2).live_keys == 1u);
  BOOST_TEST(stats(2).live_bytes == 80u);
  set.count_erase(two, second, 40);  // a tombstone is dead from the start
  BOOST_TEST(stats(2).live_keys == 0u);
  BOOST_TEST(stats(2).dead_bytes == 120u);
}

BOOST_FIXTURE_TEST_CASE(expiring_keys_are_counted_in_and_out, SetFixture) {
  auto& one = add(1, 1, 1000);
  const Location expiring{1, 32, 50, 99};
  set.count_put(one, std::nullopt, expiring);
  BOOST_TEST(set.expiring_keys() == 1u);
  set.count_expired_drop(expiring);
  BOOST_TEST(set.expiring_keys() == 0u);
  BOOST_TEST(stats(1).dead_bytes == 50u);
}

BOOST_FIXTURE_TEST_CASE(merge_move_makes_the_copy_live, SetFixture) {
  auto& one = add(1, 1, 1000);
  auto& out = add(3, 1, 132);
  set.count_dead(out, 100);  // an output is dead until its keys move in
  const Location from{1, 32, 100, 0}, to{3, 32, 100, 0};
  set.count_put(one, std::nullopt, from);
  set.count_move(from, to);
  BOOST_TEST(stats(3).live_keys == 1u);
  BOOST_TEST(stats(3).dead_bytes == 0u);
  BOOST_TEST(stats(1).dead_bytes == 100u);
}

BOOST_FIXTURE_TEST_CASE(derived_dead_bytes_are_all_but_header_and_live, SetFixture) {
  auto& one = add(1, 1, 1032);
  set.count_put(one, std::nullopt, Location{1, 32, 300, 0});
  set.derive_dead_bytes();
  BOOST_TEST(stats(1).dead_bytes == 1032u - format::kFileHeaderSize - 300u);
}

BOOST_FIXTURE_TEST_CASE(active_segment_is_never_sealed_nor_a_candidate, SetFixture) {
  add(1, 1, 1032);
  add(2, 2, 1032);
  set.derive_dead_bytes();  // nothing live: everything past the header is dead
  set.set_active(2);
  BOOST_TEST(set.is_active(2));
  BOOST_TEST((set.sealed() == std::vector<std::uint32_t>{1}));
  BOOST_TEST((set.merge_candidates(0.5, 0) == std::vector<std::uint32_t>{1}));
  Stats out;
  set.report(out);
  BOOST_REQUIRE(out.segments.size() == 2u);
  BOOST_TEST(!out.segments[0].active);
  BOOST_TEST(out.segments[1].active);
  BOOST_TEST(out.disk_bytes == 2064u);
  const std::shared_ptr<Segment> removed = set.remove(2);
  BOOST_TEST(set.active() == nullptr);
  BOOST_TEST(removed != nullptr);  // handed back: the caller decides when it goes
}

BOOST_FIXTURE_TEST_CASE(merge_groups_go_oldest_first_up_to_their_live_bytes, SetFixture) {
  const auto live = [&](std::uint32_t id, std::uint32_t bytes) {
    set.count_put(*set.find(id), std::nullopt, Location{id, 32, bytes, 0});
  };
  for (const std::uint32_t id : {1u, 2u, 3u, 4u, 5u}) add(id, id, 1000);
  add(6, 1, 1000);  // a merge output: replays after segment 1, before 2
  live(1, 400), live(6, 300), live(2, 500), live(3, 100), live(4, 700), live(5, 10);
  set.set_active(5);
  BOOST_TEST((set.next_merge_group({2, 6, 1, 4, 5, 9}, 1000) == std::vector<std::uint32_t>{1, 6}));
  // Segment 3 is not asked for: skipped, not the end of the group.
  BOOST_TEST((set.next_merge_group({2, 4, 5, 9}, 1200) == std::vector<std::uint32_t>{2, 4}));
  BOOST_TEST((set.next_merge_group({4}, 100) == std::vector<std::uint32_t>{4}));  // one always goes
  BOOST_TEST(set.next_merge_group({5, 9}, 1000).empty());  // active, unknown
  set.find(4)->retired = true;
  BOOST_TEST(set.next_merge_group({4}, 1000).empty());
}

BOOST_FIXTURE_TEST_CASE(find_segment_finds_live_ids_and_nothing_else, SetFixture) {
  add(3, 3, 100);
  add(7, 7, 100);
  BOOST_TEST(set.find_segment(3) == set.find(3)->segment.get());
  BOOST_TEST(set.find_segment(7) == set.find(7)->segment.get());
  for (const std::uint32_t id : {0u, 2u, 4u, 6u, 8u, UINT32_MAX}) BOOST_TEST(set.find_segment(id) == nullptr);
  const std::shared_ptr<Segment> gone = set.remove(3);
  BOOST_TEST(set.find_segment(3) == nullptr);
  BOOST_TEST(set.find_segment(7) == set.find(7)->segment.get());
  // Ids far apart (named by hand) are found through the map instead.
  add(4'000'000'000u, 9, 100);
  BOOST_TEST(set.find_segment(4'000'000'000u) == set.find(4'000'000'000u)->segment.get());
  BOOST_TEST(set.find_segment(7) == set.find(7)->segment.get());
  BOOST_TEST(set.find_segment(8) == nullptr);
  const auto all = set.clear();
  BOOST_TEST(all.size() == 2u);
  BOOST_TEST(set.find_segment(7) == nullptr);
}

BOOST_FIXTURE_TEST_CASE(replay_order_is_rank_then_id, SetFixture) {
  add(5, 2, 100);  // a merge output of segments up to rank 2
  add(2, 2, 100);
  add(3, 3, 100);
  std::vector<std::uint32_t> ids;
  for (const auto* e : set.in_replay_order()) ids.push_back(e->stats.id);
  BOOST_TEST((ids == std::vector<std::uint32_t>{2, 5, 3}));
}

BOOST_AUTO_TEST_SUITE_END()
