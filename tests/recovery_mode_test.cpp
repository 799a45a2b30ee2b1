// Options::recovery: what open does with damage in the newest segment, and
// pyk-fsck explaining and repairing by the same rule (core/recovery_rule.h).
#include <boost/test/unit_test.hpp>
#include <filesystem>

#include "core/error.h"
#include "core/filename.h"
#include "core/format.h"
#include "core/quarantine.h"
#include "tests/backend_fixtures.h"
#include "tests/store_helpers.h"
#include "tools/lib/fsck.h"

using namespace pyk;
using namespace pyk::test;

namespace {

const std::string kName = filename::data(1);

// Three records in segment 1, the second one damaged: what a power cut can
// leave when unsynced pages reach the disk out of order.
template <class B>
std::uint64_t damage_second_record(StoreEnv<B>& env) {
  {
    auto db = env.open();
    db.put("first", "value-1");
    db.put("second", "value-2");
    db.put("third", "value-3");
  }
  const std::uint64_t second = format::kFileHeaderSize + format::kRecordHeaderSize + 5 + 7;
  env.flip_byte(kName, second + format::kRecordHeaderSize + 2);
  return second;
}

template <class B>
std::vector<std::string> quarantined(const StoreEnv<B>& env) {
  try {
    auto names = open_directory(B::name, env.dir.str() + "/quarantine", false)->list();
    std::sort(names.begin(), names.end());
    return names;
  } catch (const IoError&) {
    return {};
  }
}

}  // namespace

BOOST_AUTO_TEST_SUITE(recovery_mode)

BOOST_AUTO_TEST_CASE_TEMPLATE(point_in_time_is_the_default_and_sets_aside_what_follows_damage, B,
                              AllBackends) {
  StoreEnv<B> env;
  const std::uint64_t second = damage_second_record(env);
  const std::string damaged = env.read_file(kName);
  {
    auto db = env.open();
    BOOST_TEST(db.get("first").value_or("") == "value-1");
    BOOST_TEST(!db.contains("second"));
    BOOST_TEST(!db.contains("third"));  // valid, but after the damage
    const Stats st = db.stats();
    BOOST_TEST(st.ranges_set_aside == 1u);
    BOOST_TEST(st.bytes_set_aside == damaged.size() - second);
    BOOST_TEST(env.log.find("quarantine") != std::string::npos, env.log);
    db.put("fourth", "value-4");  // the log goes on from the cut
  }
  const std::string set_aside = quarantine_name(kName, second, damaged.size());
  BOOST_TEST(quarantined(env) == std::vector<std::string>{set_aside});
  auto quarantine = open_directory(B::name, env.dir.str() + "/quarantine", false);
  auto kept = quarantine->open(set_aside, OpenMode::read_only);
  std::string bytes(kept->size(), '\0');
  kept->read_into(0, std::as_writable_bytes(std::span(bytes)));
  BOOST_TEST((bytes == damaged.substr(second)), "the quarantine holds the bytes exactly");
  env.log.clear();
  auto db = env.open();  // clean now
  BOOST_TEST(db.stats().bytes_set_aside == 0u);
  BOOST_TEST(db.get("fourth").value_or("") == "value-4");
  BOOST_TEST(db.size() == 2u);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(read_only_point_in_time_stops_at_damage_and_writes_nothing, B,
                              AllBackends) {
  StoreEnv<B> env;
  damage_second_record(env);
  const std::string damaged = env.read_file(kName);
  Options ro = env.options;
  ro.read_only = true;
  auto db = env.open(ro);
  BOOST_TEST(db.size() == 1u);
  BOOST_TEST(env.read_file(kName) == damaged);
  BOOST_TEST(quarantined(env).empty());
}

BOOST_AUTO_TEST_CASE_TEMPLATE(absolute_consistency_refuses_even_a_torn_tail, B, AllBackends) {
  StoreEnv<B> env;
  {
    auto db = env.open();
    db.put("first", "value-1");
  }
  env.write_file(kName, env.read_file(kName) + "torn!");
  Options absolute = env.options;
  absolute.recovery = RecoveryMode::absolute_consistency;
  BOOST_CHECK_THROW(env.open(absolute), CorruptionError);
  absolute.recovery = RecoveryMode::torn_tail;
  BOOST_TEST(env.open(absolute).get("first").value_or("") == "value-1");  // cut off
}

BOOST_AUTO_TEST_CASE_TEMPLATE(torn_tail_mode_refuses_and_keeps_the_file, B, AllBackends) {
  StoreEnv<B> env;
  damage_second_record(env);
  const std::string damaged = env.read_file(kName);
  Options torn = env.options;
  torn.recovery = RecoveryMode::torn_tail;
  BOOST_CHECK_THROW(env.open(torn), CorruptionError);
  BOOST_TEST(env.read_file(kName) == damaged);
}

// pyk-fsck says what open would do, and --repair leaves what open would keep.
BOOST_AUTO_TEST_CASE(fsck_explains_and_repairs_by_the_point_in_time_rule) {
  StoreEnv<FileBackend> env;
  const std::uint64_t second = damage_second_record(env);
  const std::string damaged = env.read_file(kName);
  const tools::FsckReport report = tools::fsck_path(env.dir.str(), {});
  bool explained = false;
  for (const auto& f : report.findings) {
    if (f.offset == second && f.detail.find("point_in_time") != std::string::npos &&
        f.action.find("quarantine") != std::string::npos)
      explained = true;
  }
  BOOST_TEST(explained);
  tools::fsck_path(env.dir.str(), {.repair = true});
  BOOST_TEST(tools::fsck_path(env.dir.str(), {}).problems() == 0u);
  BOOST_TEST(std::filesystem::exists(env.dir.path() / "quarantine" /
                                     quarantine_name(kName, second, damaged.size())));
  auto db = env.open();
  BOOST_TEST(db.stats().bytes_set_aside == 0u);  // fsck already did what open would
  BOOST_TEST(db.get("first").value_or("") == "value-1");
  BOOST_TEST(db.size() == 1u);
}

BOOST_AUTO_TEST_SUITE_END()
