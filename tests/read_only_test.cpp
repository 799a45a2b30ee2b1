// Read-only stores beside a writer in the same process (every backend):
// refresh() catching up with appends, rotations and merges, serving from
// files merged away, and an open racing a merge that removes a listed segment.
// The multi-process version is tests/readers_test.cpp.
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <map>
#include <mutex>
#include <thread>
#include <utility>

#include "core/directory_wrapper.h"
#include "core/error.h"
#include "core/filename.h"
#include "core/format.h"
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
