// pyk-fsck: check a pyk store (or one file) and optionally repair it.
#include <boost/program_options.hpp>
#include <iostream>

#include "core/error.h"
#include "core/recovery_rule.h"
#include "tools/lib/cli.h"
#include "tools/lib/fsck.h"

namespace po = boost::program_options;
using namespace pyk::tools;

constexpr const char* kHelpTail =
    "\nExamples:\n  pyk-fsck /var/lib/app/db\n"
    "  pyk-fsck --repair /var/lib/app/db\n"
    "  pyk-fsck --json /var/lib/app/db/0000000002.data\n"
    "  pyk-fsck /var/lib/app/db/0000000002.hint   (checked against its datafile)\n"
    "  pyk-fsck old/file.db     (a Python pyk file is recognised when its first\n"
    "                            record decodes with a matching CRC-32)\n"
    "\nExit codes: 0 clean, 1 problems found (with --repair: found and repaired),\n"
    "2 usage or I/O error, 4 --repair while another process has the store open.\n";

int main(int argc, char** argv) {
  return run_main("pyk-fsck", [&] {
    std::vector<std::string> paths;
    FsckOptions options;
    bool json = false;
    std::string recovery;
    po::options_description desc(
        "pyk-fsck: check every file header, record bound and CRC of a pyk store, its\n"
        "hint files, segment numbering, stray and temporary files and its lock.\n\n"
        "Usage: pyk-fsck [options] PATH...\n\nOptions");
    desc.add_options()(
        "dir,d", po::value(&paths)->composing(), "store directory or file (also positional)")(
        "json", po::bool_switch(&json), "one JSON document per path")(
        "repair", po::bool_switch(&options.repair),
        "fix what was found: cut torn tails, salvage valid records after damage,\n"
        "rebuild bad, stale or missing hint files, move bad bytes and files to\n"
        "DIR/quarantine (nothing is ever deleted). A repair after which some key\n"
        "would show an older value (or none), because its newest record is lost,\n"
        "lists each such key (reverted_key) and is refused without --accept-reverted")(
        "accept-reverted", po::bool_switch(&options.accept_reverted),
        "--repair: apply it even though the keys listed as reverted_key then show\n"
        "older values (or disappear)")(
        "recovery-mode", po::value(&recovery)->default_value("point_in_time"),
        "the rule for damage in the newest segment, as Store::open applies it:\n"
        "point_in_time (keep the log up to the damage, the rest to quarantine),\n"
        "torn_tail or absolute_consistency (salvage the valid records)");
    po::variables_map vm;
    if (auto done = parse_command_line(argc, argv, "pyk-fsck", desc, {}, "dir", kHelpTail, vm)) {
      return *done;
    }
    if (paths.empty()) throw po::error("no store directory or file given");
    options.recovery = pyk::parse_recovery_mode(recovery);
    bool problems = false;
    for (const auto& path : paths) {
      const FsckReport report = fsck_path(path, options);
      if (json) write_report_json(report, std::cout);
      else write_report_text(report, std::cout);
      problems |= report.problems() > 0;
      if (!report.refused.empty()) std::cerr << "pyk-fsck: " << path << ": " << report.refused << '\n';
    }
    std::cout.flush();
    if (!std::cout) throw pyk::IoError("write to stdout failed", "-", EIO);
    return int(problems ? kFound : kOk);
  });
}
