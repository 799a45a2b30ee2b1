// Full disks: a store fills its disk, a put fails with IoError(ENOSPC)
// naming the file, the store keeps serving reads, merge and hint writing fail
// cleanly (no leftovers, every input kept, logged, not retried in a loop),
// and writing resumes in the same open store once space is freed. A store
// also opens on a full disk and serves reads.
// On a real small file system (a 2 MiB tmpfs the test mounts; root only,
// otherwise it says it skipped) for file and mmap, and through
// FaultInjection::limit_space on every backend.
#include <boost/test/unit_test.hpp>
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>

#include "core/error.h"
#include "core/filename.h"
#include "core/format.h"
#include "tests/backend_fixtures.h"
#include "tests/fault_injection.h"
#include "tests/store_helpers.h"

using namespace pyk;
using namespace pyk::test;

namespace {

// A tmpfs of `bytes` mounted on a fresh directory for the life of the object.
class SmallFileSystem {
 public:
  explicit SmallFileSystem(std::size_t bytes) {
    if (::geteuid() != 0) {
      skipped_ = "not running as root, so no tmpfs can be mounted";
      return;
    }
    const std::string options = "size=" + std::to_string(bytes);
    if (::mount("tmpfs", dir_.str().c_str(), "tmpfs", 0, options.c_str()) != 0) {
      skipped_ = std::string("mounting a tmpfs failed: ") + std::strerror(errno);
      return;
    }
    mounted_ = true;
  }
  ~SmallFileSystem() {
    if (mounted_) ::umount2(dir_.str().c_str(), MNT_DETACH);
  }
  SmallFileSystem(const SmallFileSystem&) = delete;
  SmallFileSystem& operator=(const SmallFileSystem&) = delete;

  bool mounted() const { return mounted_; }
  const std::string& skipped() const { return skipped_; }
  std::filesystem::path path() const { return dir_.path(); }

  // A file of `bytes` taking space, to free later.
  void add_ballast(const std::string& name, std::size_t bytes) const {
    std::ofstream(path() / name, std::ios::binary) << std::string(bytes, 'b');
  }
  void free_ballast(const std::string& name) const { std::filesystem::remove(path() / name); }

 private:
  TempDir dir_;
  bool mounted_ = false;
  std::string skipped_;
};

// How a scenario frees space, and re-arms the limit where it is simulated.
struct Disk {
  std::string path;
  Options options;
  std::function<void()> free_some;
};

using State = std::map<std::string, std::string>;

// The store's log, written by its maintenance thread too.
class Log {
 public:
  void add(std::string_view line) {
    std::lock_guard lock(mu_);
    text_ += std::string(line) + "\n";
  }
  std::string text() const {
    std::lock_guard lock(mu_);
    return text_;
  }
  void clear() {
    std::lock_guard lock(mu_);
    text_.clear();
  }

 private:
  mutable std::mutex mu_;
  std::string text_;
};

// Puts until the disk is full; returns the IoError and records what was
// acknowledged. `uncertain` gets the key of the failed put: a buffered backend
// may still hold its record and write it once space returns.
IoError fill(Store& db, State& acked, std::optional<std::string>& uncertain, int& next) {
  for (int i = 0; i < 100'000; ++i, ++next) {
    const std::string key = "k" + std::to_string(next % 150);
    const std::string value = value_of(next % 150, next) + std::string(900, 'v');
    try {
      db.put(key, value);
      acked[key] = value;
    } catch (const IoError& e) {
      uncertain = key;
      ++next;
      return e;
    }
  }
  BOOST_FAIL("the disk never filled up");
  throw;  // not reached
}

void check_serves(const Store& db, const State& acked, const std::optional<std::string>& uncertain) {
  for (const auto& [key, value] : acked) {
    if (key == uncertain) continue;
    BOOST_TEST_REQUIRE(db.get(key).value_or("<missing>") == value, "key " << key);
  }
  std::size_t seen = 0;
  db.for_each([&](std::string_view key, std::string_view value) {
    ++seen;
    BOOST_TEST((key == uncertain || acked.at(std::string(key)) == value));
  });
  BOOST_TEST(seen >= acked.size() - (uncertain && acked.contains(*uncertain) ? 1 : 0));
}

void check_enospc(const IoError& e) {
  BOOST_TEST((e.error_code() == ENOSPC || e.error_code() == EDQUOT), e.what());
  BOOST_TEST(!e.path().empty());
  BOOST_TEST(std::string(e.what()).find(e.path()) != std::string::npos, e.what());
}

std::size_t count(const Log& shared, const std::string& what) {
  const std::string log = shared.text();
  std::size_t n = 0;
  for (std::size_t at = log.find(what); at != std::string::npos; at = log.find(what, at + 1)) ++n;
  return n;
}

void full_disk_cycle(Disk& disk, Log& log, const char* label) {
  State acked;
  std::optional<std::string> uncertain;
  int next = 0;
  Store db = Store::open(disk.path, disk.options);
  check_enospc(fill(db, acked, uncertain, next));
  check_serves(db, acked, uncertain);

  // Merge needs room for its outputs: it fails, leaving no .tmp and every input.
  const auto directory = open_directory(disk.options.backend, disk.path, false);
  // The store's segments: not the spares, which the maintenance thread may
  // drop meanwhile (one a rotation overtook).
  const auto data_before = segment_ids(db.stats());
  BOOST_CHECK_THROW(db.merge(), IoError);
  // (Only the merge's: a hint write the fill queued may be under way.)
  for (const auto& name : directory->list())
    BOOST_TEST(!name.ends_with(".data.tmp"), "merge left " << name);
  for (const auto id : data_before) BOOST_TEST(directory->exists(filename::data(id)));
  BOOST_TEST(count(log, "merge failed") > 0u, log.text());
  check_serves(db, acked, uncertain);

  // More failing writes do not start a loop of merge or hint retries: once
  // the maintenance queued so far has run, nothing more fails by itself.
  for (int i = 0; i < 20; ++i) {
    try {
      db.put("k" + std::to_string(next++ % 150), std::string(900, 'w'));
    } catch (const IoError& e) {
      check_enospc(e);
    }
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const std::size_t failures = count(log, "failed");
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  BOOST_TEST(count(log, "failed") == failures, log.text());

  // Space freed: the same open store writes again, and merges.
  disk.free_some();
  for (int i = 0; i < 5; ++i) {
    const std::string key = "after-" + std::to_string(i);
    db.put(key, "resumed");
    acked[key] = "resumed";
  }
  db.merge();
  uncertain.reset();
  for (const auto& [key, value] : contents(db)) acked[key] = value;  // the failed puts' fate is known now
  check_serves(db, acked, uncertain);

  // Full again, closed, reopened on the full disk: it opens and serves reads.
  check_enospc(fill(db, acked, uncertain, next));
  try {
    db.close();  // a buffered backend cannot flush the failed put's record
  } catch (const IoError& e) {
    check_enospc(e);
  }
  Store reopened = Store::open(disk.path, disk.options);
  check_serves(reopened, acked, uncertain);
  BOOST_CHECK_THROW(reopened.put("k0", std::string(200'000, 'z')), IoError);
  disk.free_some();
  reopened.put("last", "word");
  BOOST_TEST(reopened.get("last").value_or("") == "word");
  std::cout << "full disk (" << label << "): filled twice, merge refused cleanly, writes resumed "
            << "in the same store, reopened on a full disk with " << reopened.size() << " keys\n";
}

Options full_disk_options(const char* backend, Log& log) {
  Options options;
  options.backend = backend;
  options.sync = SyncPolicy::always;
  options.max_segment_size = 64 * 1024;
  // No automatic merge: one freeing space meanwhile would let the merge
  // meant to fail succeed, or keep the disk from filling at all
  // (automatic_merge_and_hint_on_a_full_disk_fail_once turns it on).
  options.merge_dead_fraction = 0;
  options.merge_dead_bytes = 0;
  // A merge takes every sealed segment, so it needs room for an output.
  options.merge_input_dead_fraction = 0;
  options.merge_input_dead_bytes = 0;
  options.logger = [&log](std::string_view m) { log.add(m); };
  return options;
}

template <class Backend>
void on_a_small_tmpfs() {
  SmallFileSystem fs(2u << 20);
  if (!fs.mounted()) {
    std::cout << "full disk (" << Backend::name << ", tmpfs): SKIPPED, " << fs.skipped() << "\n";
    BOOST_TEST_MESSAGE("skipped: " << fs.skipped());
    return;
  }
  Log log;
  fs.add_ballast("ballast-1", 256 * 1024);
  fs.add_ballast("ballast-2", 256 * 1024);
  int freed = 0;
  Disk disk{(fs.path() / "store").string(), full_disk_options(Backend::name, log),
            [&] { fs.free_ballast("ballast-" + std::to_string(++freed)); }};
  full_disk_cycle(disk, log, (std::string(Backend::name) + ", 2 MiB tmpfs").c_str());
}

template <class Backend>
void with_fault_injection() {
  StoreEnv<Backend> env;
  Log log;
  auto faulty = std::make_shared<FaultInjectionDirectory>(env.directory());
  faulty->faults().limit_space(400 * 1024);
  Disk disk{env.dir.str(), full_disk_options(Backend::name, log), [&] {
              faulty->faults().heal();
              faulty->faults().limit_space(400 * 1024);
            }};
  disk.options.directory = faulty;
  full_disk_cycle(disk, log, (std::string(Backend::name) + ", fault injection").c_str());
}

template <class Backend>
void automatic_maintenance_on_a_full_disk() {
  StoreEnv<Backend> env;
  Log log;
  auto faulty = std::make_shared<FaultInjectionDirectory>(env.directory());
  Options options = full_disk_options(Backend::name, log);
  options.directory = faulty;
  options.max_segment_size = 4096;
  options.merge_dead_fraction = 0.3;
  Store db = Store::open(env.dir.str(), options);
  for (int i = 0; i < 300; ++i) db.put("k" + std::to_string(i % 5), value_of(i % 5, i));
  BOOST_TEST_REQUIRE(wait_until([&] { return db.stats().merges > 0; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // maintenance goes idle
  const State before = contents(db);

  // No room for a new file: the writer goes on into its spares (made while
  // there was room), then the next rotation seals the active segment and
  // cannot start one. The hint and the automatic merge each rotation queues
  // fail once; making spares fails once, and is not tried again meanwhile.
  faulty->faults().fail_always(FaultOp::create, ENOSPC);
  log.clear();
  int failed_puts = 0;
  for (int i = 0; i < 200 && failed_puts < 20; ++i) {
    try {
      db.put("k" + std::to_string(i % 5), value_of(i % 5, 1000 + i));
    } catch (const IoError& e) {
      check_enospc(e);
      ++failed_puts;
    }
  }
  BOOST_TEST_REQUIRE(failed_puts == 20);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const std::size_t rotations = 1 + options.spare_segments;
  BOOST_TEST(count(log, "automatic merge failed") >= 1u, log.text());
  BOOST_TEST(count(log, "automatic merge failed") <= rotations, log.text());
  BOOST_TEST(count(log, "writing hint file") <= rotations, log.text());
  BOOST_TEST(count(log, "making a spare segment failed") <= 1u, log.text());
  BOOST_TEST(ids_of(*env.directory(), filename::Kind::temp).empty());
  for (const auto& entry : db.stats().segments)
    BOOST_TEST(env.directory()->exists(filename::data(entry.id)));

  faulty->faults().heal();
  db.put("after", "space");
  db.merge();
  BOOST_TEST(db.get("after").value_or("") == "space");
  BOOST_TEST(db.size() == 6u);
}

// A store closed with its active segment sealed (big enough to get a hint)
// needs a new segment for its next write: no room for one must not keep the
// store from opening and serving reads (open starts none: the first write
// does, and fails with ENOSPC until space is freed).
template <class Backend>
void open_without_room_for_a_new_segment() {
  StoreEnv<Backend> env;
  auto faulty = std::make_shared<FaultInjectionDirectory>(env.directory());
  Log log;
  Options options = env.options;
  options.directory = faulty;
  options.logger = [&log](std::string_view m) { log.add(m); };
  options.max_segment_size = 8192;  // sealed at close from 4 KiB on
  {
    Store db = Store::open(env.dir.str(), options);
    for (int k = 0; k < 60; ++k) db.put("k" + std::to_string(k), value_of(k, 0));
  }
  faulty->faults().fail_always(FaultOp::create, ENOSPC);
  Store db = Store::open(env.dir.str(), options);
  BOOST_TEST(count(log, "no space") == 0u, log.text());
  for (int k = 0; k < 60; ++k) BOOST_TEST(db.get("k" + std::to_string(k)).value_or("") == value_of(k, 0));
  try {
    db.put("late", "value");
    BOOST_ERROR("a put without room for a segment succeeded");
  } catch (const IoError& e) {
    check_enospc(e);
  }
  faulty->faults().heal();
  db.put("late", "value");  // the same open store starts its segment now
  BOOST_TEST(db.get("late").value_or("") == "value");
  db.close();
  BOOST_TEST(Store::open(env.dir.str(), options).size() == 61u);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(full_disk)

// Syncs write zeros ahead of a segment's data (AppendBuffer::zero_ahead).
// Where the disk has no room for them, a sync still succeeds, the zeros are
// cut back and no more are written, and the appends get the space.
BOOST_AUTO_TEST_CASE_TEMPLATE(zeros_ahead_give_way_to_appends_on_a_full_disk, B, DiskBackends) {
  SmallFileSystem fs(2 << 20);
  if (!fs.mounted()) {
    std::cout << "zeros ahead on a full disk: skipped, " << fs.skipped() << "\n";
    return;
  }
  fs.add_ballast("ballast", (2 << 20) - (256 << 10));  // leaves about 256 KiB
  const auto directory = open_directory(B::name, fs.path().string(), false);
  auto segment = directory->create("0000000001.data", 64 << 20);
  const std::string record(150, 'r');
  std::uint64_t appended = 0;
  try {
    for (;;) {
      segment->append(format::as_bytes(record));
      appended += record.size();
      segment->sync();  // never fails for want of room for zeros
      BOOST_TEST_REQUIRE(std::filesystem::file_size(fs.path() / "0000000001.data") == appended);
    }
  } catch (const IoError& e) {
    BOOST_TEST(e.error_code() == ENOSPC, e.what());
  }
  BOOST_TEST(appended > 100u << 10);  // the appends had the room the zeros gave back
  BOOST_TEST(segment->size() == appended);
}

BOOST_AUTO_TEST_CASE(full_tmpfs_file) { on_a_small_tmpfs<FileBackend>(); }
BOOST_AUTO_TEST_CASE(full_tmpfs_mmap) { on_a_small_tmpfs<MmapBackend>(); }
BOOST_AUTO_TEST_CASE_TEMPLATE(full_disk_simulated, B, AllBackends) { with_fault_injection<B>(); }
BOOST_AUTO_TEST_CASE_TEMPLATE(store_opens_without_room_for_a_new_segment, B, AllBackends) {
  open_without_room_for_a_new_segment<B>();
}
BOOST_AUTO_TEST_CASE_TEMPLATE(automatic_merge_and_hint_on_a_full_disk_fail_once, B, AllBackends) {
  automatic_maintenance_on_a_full_disk<B>();
}

BOOST_AUTO_TEST_SUITE_END()
