// Read-only stores beside a writer in the same process (every backend):
// refresh() catching up with appends, rotations and merges, serving from
// files merged away, and an open racing a merge that removes a listed segment.
// The multi-process version is tests/readers_test.cpp.
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>

#include "core/directory_wrapper.h"
#include "core/error.h"
#include "core/filename.h"
#include "core/format.h"
#include "core/segment_wrapper.h"
#include "tests/backend_fixtures.h"
#include "tests/store_helpers.h"

using namespace pyk;
using namespace pyk::test;

namespace {

template <class Backend>
struct ReadOnlyEnv : StoreEnv<Backend> {
  ReadOnlyEnv() {
    this->options.max_segment_size = 4096;
    // Merges rewrite every sealed segment, so the tests know which files go.
    this->options.merge_input_dead_fraction = 0;
    this->options.merge_input_dead_bytes = 0;
  }
  Store open_reader() const {
    Options o = this->options;
    o.read_only = true;
    return this->open(o);
  }
};

// Lists a datafile that is already gone the first time (as if a merge removed
// it between the reader's listing and its open), then the truth.
class StaleListing final : public DirectoryWrapper {
 public:
  StaleListing(std::shared_ptr<Directory> base, std::string gone)
      : DirectoryWrapper(std::move(base)), gone_(std::move(gone)) {}
  std::vector<std::string> list() const override {
    std::vector<std::string> names = DirectoryWrapper::list();
    if (stale_lists_ > 0) {
      --stale_lists_;
      names.push_back(gone_);
    }
    return names;
  }
  mutable int stale_lists_ = 1;

 private:
  const std::string gone_;
};

}  // namespace

BOOST_AUTO_TEST_SUITE(read_only)

BOOST_AUTO_TEST_CASE_TEMPLATE(refresh_applies_puts_erases_and_rotations_since_open, B, AllBackends) {
  ReadOnlyEnv<B> env;
  Store writer = env.open();
  for (int k = 0; k < 20; ++k) writer.put("k" + std::to_string(k), value_of(k, 0));
  writer.sync();
  Store reader = env.open_reader();
  BOOST_TEST(reader.size() == 20u);
  for (int k = 0; k < 200; ++k) writer.put("k" + std::to_string(k), value_of(k, 1));  // rotates
  writer.erase("k3");
  writer.sync();
  BOOST_TEST(!reader.get("k150"));  // not refreshed yet
  reader.refresh();
  BOOST_TEST(reader.size() == 199u);
  BOOST_TEST(!reader.contains("k3"));
  BOOST_TEST(reader.get("k7").value_or("") == value_of(7, 1));
  BOOST_TEST((contents(reader) == contents(writer)));
  reader.refresh();  // nothing new
  BOOST_TEST((contents(reader) == contents(writer)));
}

// A writer that syncs every write has zeros ahead of its data (the file
// does not grow with each write): refresh must still find the records
// written into them.
BOOST_AUTO_TEST_CASE_TEMPLATE(refresh_finds_writes_into_the_zeros_ahead_of_a_synced_writer, B,
                              DiskBackends) {
  ReadOnlyEnv<B> env;
  env.options.max_segment_size = 8 << 20;
  env.options.sync = SyncPolicy::always;
  Store writer = env.open();
  for (int k = 0; k < 20; ++k) writer.put("k" + std::to_string(k), value_of(k, 0));
  Store reader = env.open_reader();
  BOOST_TEST(reader.size() == 20u);
  const auto file_size = [&] { return env.read_file(filename::data(1)).size(); };
  const std::size_t before = file_size();
  for (int k = 20; k < 40; ++k) writer.put("k" + std::to_string(k), value_of(k, 0));
  BOOST_TEST_REQUIRE(file_size() == before);  // written into the zeros: the file did not grow
  reader.refresh();
  BOOST_TEST(reader.size() == 40u);
  BOOST_TEST((contents(reader) == contents(writer)));
}

// Counts the files opened through it, by name.
class CountingOpens final : public DirectoryWrapper {
 public:
  using DirectoryWrapper::DirectoryWrapper;
  std::unique_ptr<Segment> open(const std::string& name, OpenMode mode) override {
    {
      std::lock_guard lock(mu_);
      ++opened_[name];
    }
    return DirectoryWrapper::open(name, mode);
  }
  std::map<std::string, int> take() {
    std::lock_guard lock(mu_);
    return std::exchange(opened_, {});
  }

 private:
  std::mutex mu_;
  std::map<std::string, int> opened_;
};

// refresh() after appends catches up from where it was: it reads only the
// segments that may have grown, and no hint (a reload loads them all again).
BOOST_AUTO_TEST_CASE_TEMPLATE(refresh_after_appends_reads_no_hint, B, AllBackends) {
  ReadOnlyEnv<B> env;
  env.options.merge_dead_fraction = 0;  // no merge: the sealed segments stay as they are
  env.options.merge_dead_bytes = 0;
  Store writer = env.open();
  for (int k = 0; k < 100; ++k) writer.put("k" + std::to_string(k), value_of(k, 0));  // rotates
  writer.sync();
  const std::vector<std::uint32_t> hinted = segment_ids(writer.stats(), sealed);
  BOOST_TEST_REQUIRE(hinted.size() >= 2u);
  // Each synced and hinted in the background, the manifest listing its length.
  BOOST_TEST_REQUIRE(wait_until([&] { return ids_of(*env.directory(), filename::Kind::hint) == hinted; }));
  Options o = env.options;
  o.read_only = true;
  auto counting = std::make_shared<CountingOpens>(env.directory());
  o.directory = counting;
  Store reader = env.open(o);
  (void)counting->take();
  writer.put("new", "value");
  writer.sync();
  reader.refresh();
  BOOST_TEST(reader.get("new").value_or("missing") == "value");
  // A reload would load every sealed segment again, from its hint.
  const auto opened = counting->take();
  for (const std::uint32_t id : hinted) BOOST_TEST(opened.count(filename::hint(id)) == 0u, id);
}

// The reader loaded the writer's spares empty (listed, made ahead). The
// writer then rotates into the oldest, which is not the newest segment
// listed: refresh must still read what was appended there.
BOOST_AUTO_TEST_CASE_TEMPLATE(refresh_reads_a_spare_the_writer_moved_into, B, AllBackends) {
  ReadOnlyEnv<B> env;
  Store writer = env.open();
  int k = 0;
  while (writer.stats().segments.front().bytes < env.options.max_segment_size / 2 + 512) {
    writer.put("k" + std::to_string(k), value_of(k, 0));
    ++k;
  }
  BOOST_TEST_REQUIRE(wait_until([&] { return writer.stats().spare_segments == env.options.spare_segments; }));
  writer.sync();
  Store reader = env.open_reader();
  BOOST_TEST(reader.size() == writer.size());
  while (writer.stats().segments.size() == 1) {
    writer.put("k" + std::to_string(k), value_of(k, 0));
    ++k;
  }
  writer.put("in-the-spare", "x");
  writer.sync();
  reader.refresh();
  BOOST_TEST(reader.get("in-the-spare").value_or("missing") == "x");
  BOOST_TEST((contents(reader) == contents(writer)));
}

BOOST_AUTO_TEST_CASE_TEMPLATE(read_only_store_serves_from_merged_away_files_then_refreshes, B,
                              AllBackends) {
  ReadOnlyEnv<B> env;
  Store writer = env.open();
  for (int v = 0; v < 3; ++v)
    for (int k = 0; k < 100; ++k) writer.put("k" + std::to_string(k), value_of(k, v));
  writer.sync();
  Store reader = env.open_reader();
  const auto before = contents(reader);
  const auto segments_before = ids_with_records(*env.directory());  // not the writer's spares
  writer.merge();
  for (const auto id : segments_before) {
    if (id != segments_before.back()) BOOST_TEST(!env.directory()->exists(filename::data(id)));
  }
  BOOST_TEST((contents(reader) == before));  // from the removed files, still open
  for (int k = 0; k < 100; ++k) BOOST_TEST(reader.get("k" + std::to_string(k)).value_or("") == value_of(k, 2));
  writer.put("new", "value");
  writer.sync();
  reader.refresh();  // after a merge: a rebuild from the segments now there
  BOOST_TEST((contents(reader) == contents(writer)));
  // The same segments, but for the writer's spares: listed in the manifest,
  // the reader has them as empty segments.
  BOOST_TEST(segment_ids(reader.stats(), holds_records) == segment_ids(writer.stats(), holds_records),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE_TEMPLATE(read_only_open_lists_again_when_a_listed_segment_is_gone, B,
                              AllBackends) {
  ReadOnlyEnv<B> env;
  {
    Store writer = env.open();
    for (int k = 0; k < 50; ++k) writer.put("k" + std::to_string(k), value_of(k, 0));
  }
  auto stale = std::make_shared<StaleListing>(env.directory(), filename::data(99));
  Options o = env.options;
  o.read_only = true;
  o.directory = stale;
  Store reader = Store::open(env.dir.str(), o);
  BOOST_TEST(stale->stale_lists_ == 0);
  BOOST_TEST(reader.size() == 50u);
  stale->stale_lists_ = 1;
  for (int k = 0; k < 50; ++k) BOOST_TEST(reader.get("k" + std::to_string(k)).value_or("") == value_of(k, 0));
  BOOST_CHECK_NO_THROW(reader.refresh());
  BOOST_TEST(reader.size() == 50u);
}

// Segments whose reads on one chosen thread wait inside read() until let
// go, and which note being destroyed while a read is under way (then wait for
// it, so the test fails without reading freed memory); and a hook on the
// second open of a file.
class HeldReads final : public DirectoryWrapper {
 public:
  using DirectoryWrapper::DirectoryWrapper;

  std::unique_ptr<Segment> open(const std::string& name, OpenMode mode) override {
    std::function<void()> before;
    {
      std::lock_guard lock(state_->mu);
      if (name == state_->hooked && ++state_->opens_of_hooked == 2) before = state_->before_second_open;
    }
    if (before) before();
    return std::make_unique<Held>(DirectoryWrapper::open(name, mode), state_);
  }
  void hold_reads_on(std::thread::id thread) {
    std::lock_guard lock(state_->mu);
    state_->hold_on = thread;
  }
  void wait_until_a_read_is_held() {
    std::unique_lock lock(state_->mu);
    state_->cv.wait(lock, [&] { return state_->holding; });
  }
  void let_reads_go() {
    std::lock_guard lock(state_->mu);
    state_->hold_on = {};
    state_->cv.notify_all();
  }
  // Runs `fn` before the second open of `name` (refresh lists a file,
  // reading its rank, then loads it).
  void before_second_open_of(std::string name, std::function<void()> fn) {
    std::lock_guard lock(state_->mu);
    state_->hooked = std::move(name);
    state_->before_second_open = std::move(fn);
  }
  bool hook_ran() {
    std::lock_guard lock(state_->mu);
    return state_->opens_of_hooked >= 2;
  }
  bool destroyed_while_read() const { return state_->destroyed_while_read; }

 private:
  struct State {
    std::mutex mu;
    std::condition_variable cv;
    std::string hooked;
    int opens_of_hooked = 0;
    std::function<void()> before_second_open;
    std::thread::id hold_on;
    bool holding = false;
    std::atomic<bool> destroyed_while_read{false};
  };
  class Held final : public SegmentWrapper {
   public:
    Held(std::unique_ptr<Segment> target, std::shared_ptr<State> state)
        : SegmentWrapper(std::move(target)), state_(std::move(state)) {}
    ~Held() override {
      std::unique_lock lock(state_->mu);
      if (reads_ > 0) state_->destroyed_while_read = true;
      state_->cv.wait(lock, [&] { return reads_ == 0; });
    }
    std::span<const std::byte> read(std::uint64_t offset, std::size_t n,
                                    std::span<std::byte> scratch) const override {
      {
        std::unique_lock lock(state_->mu);
        ++reads_;
        if (std::this_thread::get_id() == state_->hold_on) {
          state_->holding = true;
          state_->cv.notify_all();
          state_->cv.wait(lock, [&] { return std::this_thread::get_id() != state_->hold_on; });
        }
      }
      const auto bytes = SegmentWrapper::read(offset, n, scratch);
      std::lock_guard lock(state_->mu);
      --reads_;
      state_->cv.notify_all();
      return bytes;
    }

   private:
    const std::shared_ptr<State> state_;
    mutable int reads_ = 0;  // guarded by state_->mu
  };

  const std::shared_ptr<State> state_ = std::make_shared<State>();
};

// refresh() replaces the handle of a segment that grew, then cannot open a
// new one (merged away since it listed it) and reloads instead. A get reading
// through the old handle must end before that handle is destroyed, on this
// way out too.
BOOST_AUTO_TEST_CASE_TEMPLATE(refresh_that_gives_up_keeps_replaced_handles_until_reads_end, B,
                              AllBackends) {
  ReadOnlyEnv<B> env;
  env.options.spare_segments = 0;  // the writer's next segment is new to the reader
  Store writer = env.open();
  writer.put("k0", value_of(0, 0));
  writer.sync();
  Options o = env.options;
  o.read_only = true;
  auto held = std::make_shared<HeldReads>(env.directory());
  o.directory = held;
  Store reader = env.open(o);
  // Segment 1 grows and the writer rotates into a segment the reader has not seen.
  for (int k = 1; writer.stats().segments.size() < 2; ++k) writer.put("k" + std::to_string(k), value_of(k, 0));
  writer.sync();
  held->before_second_open_of(filename::data(2), [&] {
    for (int k = 0; writer.stats().segments.size() < 3; ++k) writer.put("k" + std::to_string(k), value_of(k, 1));
    writer.merge();  // segments 1 and 2 go
    writer.sync();
  });

  std::optional<std::string> got;
  std::thread getter([&] {
    held->hold_reads_on(std::this_thread::get_id());
    got = reader.get("k0");  // held inside the read of segment 1's handle
  });
  held->wait_until_a_read_is_held();
  std::string refresh_error;
  std::thread refresher([&] {
    try {
      reader.refresh();
    } catch (const std::exception& e) {
      refresh_error = e.what();
    }
  });
  // Without the wait, the replaced handle goes as refresh_appended unwinds.
  (void)wait_until([&] { return held->destroyed_while_read(); }, std::chrono::milliseconds(300));
  held->let_reads_go();
  getter.join();
  refresher.join();
  BOOST_TEST_REQUIRE(held->hook_ran());
  BOOST_TEST(refresh_error == "");
  BOOST_TEST(!held->destroyed_while_read());
  BOOST_TEST(got.value_or("missing") == value_of(0, 0));
  BOOST_TEST((contents(reader) == contents(writer)));
}

// Readers of the read-only store keep going while it refreshes (incrementally
// and, after merges, by rebuilding): every value they see is whole.
BOOST_AUTO_TEST_CASE_TEMPLATE(gets_and_iterations_run_concurrently_with_refresh, B, AllBackends) {
  ReadOnlyEnv<B> env;
  Store writer = env.open();
  for (int k = 0; k < 50; ++k) writer.put("k" + std::to_string(k), value_of(k, 0));
  writer.sync();
  Store reader = env.open_reader();
  std::atomic<bool> done{false};
  std::atomic<int> bad{0};
  std::thread getter([&] {
    while (!done) {
      for (int k = 0; k < 50; ++k) {
        const auto v = reader.get("k" + std::to_string(k));
        if (!v || !v->starts_with("value-" + std::to_string(k) + "-")) ++bad;
      }
      reader.for_each([&](std::string_view key, std::string_view value) {
        if (!value.starts_with("value-" + std::string(key.substr(1)) + "-")) ++bad;
      });
    }
  });
  for (int round = 1; round <= 20; ++round) {
    for (int k = 0; k < 50; ++k) writer.put("k" + std::to_string(k), value_of(k, round));
    if (round % 5 == 0) writer.merge();
    writer.sync();
    reader.refresh();
  }
  done = true;
  getter.join();
  BOOST_TEST(bad == 0);
  BOOST_TEST((contents(reader) == contents(writer)));
}

BOOST_AUTO_TEST_CASE_TEMPLATE(refresh_on_a_writable_store_is_invalid_argument, B, AllBackends) {
  ReadOnlyEnv<B> env;
  Store writer = env.open();
  BOOST_CHECK_THROW(writer.refresh(), InvalidArgument);
}

BOOST_AUTO_TEST_SUITE_END()
