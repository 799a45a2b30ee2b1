// pyk-dump: show every record of a store, a datafile or a Python pyk file.
#include <boost/program_options.hpp>
#include <iostream>

#include "core/error.h"
#include "tools/lib/cli.h"
#include "tools/lib/dump.h"

namespace po = boost::program_options;
using namespace pyk::tools;

constexpr const char* kHelpTail =
    "\nExamples:\n  pyk-dump /var/lib/app/db\n"
    "  pyk-dump --key user:1 --hex /var/lib/app/db/0000000003.data\n"
    "  pyk-dump --json --live /var/lib/app/db > live.jsonl\n"
    "  pyk-dump /var/lib/app/db/0000000007.hint\n"
    "  pyk-dump --hints --key user:1 /var/lib/app/db\n"
    "  pyk-dump old/file.db          (a Python pyk file: no magic; recognised when\n"
    "                                 its first record decodes with a matching CRC-32)\n"
    "\nExit codes: 0 no damage, 1 damage found (still dumped; a bad or stale hint counts),\n"
    "2 usage or I/O error.\n";

int main(int argc, char** argv) {
  return run_main("pyk-dump", [&] {
    std::vector<std::string> paths;
    DumpOptions options;
    std::string key;
    po::options_description desc(
        "pyk-dump: show the records of a pyk store directory (datafiles in replay\n"
        "order), one datafile, a hint file (one line per entry, then its check\n"
        "against the datafile) or a file of the Python pyk, one line per record,\n"
        "damage marked and skipped.\n\n"
        "Usage: pyk-dump [options] PATH...\n\nOptions");
    desc.add_options()(
        "dir,d", po::value(&paths)->composing(), "store directory or file (also positional)")(
        "json", po::bool_switch(&options.json), "JSON Lines (bytes: UTF-8 string or *_b64 base64)")(
        "key,k", po::value(&key), "only the records of this key")(
        "live", po::bool_switch(&options.live), "only records the keydir would point at (unexpired)")(
        "hex", po::bool_switch(&options.hex), "raw bytes of each record (bad regions: first 256)")(
        "hints", po::bool_switch(&options.hints),
        "store directory: each datafile's hint file after it, entry by entry")(
        "max-value", po::value<std::size_t>(),
        "cut shown values to N bytes, 0 = no limit (default: 80 in text, none in --json)");
    po::variables_map vm;
    if (auto done = parse_command_line(argc, argv, "pyk-dump", desc, {}, "dir", kHelpTail, vm)) {
      return *done;
    }
    if (paths.empty()) throw po::error("no store directory or file given");
    if (vm.count("key")) options.key = key;
    options.max_value = vm.count("max-value") ? vm["max-value"].as<std::size_t>() : options.json ? 0 : 80;
    bool damage = false;
    for (const auto& path : paths) {
      const DumpSummary summary = dump_path(path, options, std::cout);
      damage |= summary.bad_regions > 0 || summary.damaged_keys > 0;
    }
    std::cout.flush();
    if (!std::cout) throw pyk::IoError("write to stdout failed", "-", EIO);
    return int(damage ? kFound : kOk);
  });
}
