// The damage sweep: every sealed segment of a store of 300 keys written twice
// is in turn deleted, cut at a record boundary, changed in its newest record,
// stripped of its hint, or given a damaged hint. Then Store::open, get,
// for_each, export, pyk-dump --live and pyk-fsck must never present an older
// value as current, and fsck must name the damaged file. On file and mmap.
#include <boost/json.hpp>
#include <boost/mpl/list.hpp>
#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>

#include "core/error.h"
#include "core/filename.h"
#include "tests/backend_fixtures.h"
#include "tests/integrity_helpers.h"
#include "tests/store_helpers.h"
#include "tools/lib/dump.h"
#include "tools/lib/fsck.h"
#include "tools/lib/transfer.h"

namespace fs = std::filesystem;
using namespace pyk;
using namespace pyk::test;
using namespace pyk::tools;

namespace {

using Contents = std::map<std::string, std::string>;

// Every value a JSON Lines stream (export, dump --json --live) shows.
Contents values_in(const std::string& jsonl) {
  Contents out;
  std::istringstream lines(jsonl);
  for (std::string line; std::getline(lines, line);) {
    const auto o = boost::json::parse(line).as_object();
    if (const auto* type = o.if_contains("type"); type && type->as_string() == "value")
      out[std::string(o.at("key").as_string())] = std::string(o.at("value").as_string());
  }
  return out;
}

// Each value shown must be the newest one written for its key.
void no_older_value(const Contents& shown, const Contents& truth, const std::string& who) {
  for (const auto& [key, value] : shown) {
    const auto it = truth.find(key);
    BOOST_TEST((it != truth.end() && it->second == value), who << " shows " << key << " = " << value);
  }
}

struct Damage {
  std::string what;
  std::string file;  // the file fsck must name
  std::function<void(const fs::path& dir)> apply;
};

template <class B>
void sweep() {
  StoreEnv<B> env;
  const auto sealed = fill_history(env);
  BOOST_TEST_REQUIRE(sealed.size() >= 5u);
  const Contents truth = contents(env.open());
  BOOST_TEST_REQUIRE(truth.size() == 300u);

  std::vector<Damage> damages;
  for (const std::uint32_t id : sealed) {
    const std::string data = filename::data(id), hint = filename::hint(id);
    const std::string bytes = env.read_file(data);
    const auto records = record_offsets(bytes);
    const std::uint64_t last = records.back();
    damages.push_back({"delete " + data, data, [=](const fs::path& d) { fs::remove(d / data); }});
    damages.push_back({"cut " + data + " at a record boundary", data, [=](const fs::path& d) {
                         fs::resize_file(d / data, records[records.size() / 2]);
                       }});
    damages.push_back({"flip a value byte of the newest record of " + data, data,
                       [=](const fs::path& d) {
                         std::string b = bytes;
                         b[last + format::kRecordHeaderSize + 8] ^= 0x20;
                         std::ofstream(d / data, std::ios::binary | std::ios::trunc) << b;
                       }});
    damages.push_back({"remove " + hint, hint, [=](const fs::path& d) { fs::remove(d / hint); }});
    damages.push_back({"damage " + hint, hint, [=](const fs::path& d) {
                         std::ofstream(d / hint, std::ios::binary | std::ios::trunc) << "not a hint";
                       }});
  }
  int refused = 0, opened = 0;
  for (const Damage& damage : damages) {
    BOOST_TEST_CONTEXT(B::name << ": " << damage.what) {
      TempDir copy;
      fs::copy(env.dir.path(), copy.path(), fs::copy_options::recursive);
      damage.apply(copy.path());
      Options read_only;
      read_only.backend = B::name;
      read_only.read_only = true;
      read_only.logger = [](std::string_view) {};
      try {
        auto db = Store::open(copy.str(), read_only);
        ++opened;
        Contents got;
        for (const auto& [key, value] : truth) {
          try {
            if (const auto v = db.get(key)) got[key] = *v;
          } catch (const CorruptionError&) {  // damaged: refused, never older
          }
        }
        no_older_value(got, truth, "get");
        Contents walked;
        try {
          db.for_each([&](std::string_view k, std::string_view v) { walked.emplace(k, v); });
        } catch (const CorruptionError&) {
        }
        no_older_value(walked, truth, "for_each");
      } catch (const CorruptionError& e) {
        ++refused;
        BOOST_TEST(std::string(e.what()).find(damage.file.substr(0, 10)) != std::string::npos, e.what());
      }
      std::ostringstream exported, dumped;
      export_store(*open_directory("file", copy.str(), false), exported);
      no_older_value(values_in(exported.str()), truth, "export");
      DumpOptions live;
      live.json = true;
      live.live = true;
      dump_path(copy.str(), live, dumped);
      no_older_value(values_in(dumped.str()), truth, "dump --live");
      const FsckReport report = fsck_path(copy.str(), {});
      bool named = false;
      for (const auto& f : report.findings) named |= f.file == damage.file;
      BOOST_TEST(named, "fsck does not name " << damage.file);
    }
  }
  BOOST_TEST_MESSAGE(B::name << ": " << damages.size() << " damages, open refused " << refused
                             << ", opened " << opened);
  BOOST_TEST(refused > 0);
  BOOST_TEST(opened > 0);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(damage_sweep)

BOOST_AUTO_TEST_CASE(every_sealed_segment_on_file) { sweep<FileBackend>(); }
BOOST_AUTO_TEST_CASE(every_sealed_segment_on_mmap) { sweep<MmapBackend>(); }

BOOST_AUTO_TEST_SUITE_END()
