// pyk: the everyday command: get, put, del, keys, stats, merge, export, import.
#include <boost/program_options.hpp>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>

#include "core/directory.h"
#include "core/error.h"
#include "core/store.h"
#include "tools/lib/cli.h"
#include "tools/lib/source.h"
#include "tools/lib/text.h"
#include "tools/lib/transfer.h"

namespace po = boost::program_options;
using namespace pyk::tools;

namespace {

constexpr const char* kExamples =
    "\nCommands:\n"
    "  get KEY                 print the value (exit 1 if absent); --raw: no newline\n"
    "  put KEY [VALUE|-]       store VALUE; '-' or no VALUE reads it from stdin (binary safe)\n"
    "  del KEY                 erase KEY (exit 1 if absent)\n"
    "  keys                    list live keys, sorted; --prefix P to filter\n"
    "  stats                   keys, bytes and segments; --json for JSON\n"
    "  merge                   compact the sealed segments past the dead-data thresholds\n"
    "                          (Store::merge) and print segments and disk bytes before and\n"
    "                          after; --seal: seal the segment being written first, so a\n"
    "                          small store is merged too; --json for JSON\n"
    "  export                  live keys as JSON Lines (same objects as pyk-dump --json)\n"
    "  import [FILE|-]         apply JSON Lines from FILE or stdin\n"
    "  import --from-python-pyk FILE   bring the live keys of a Python pyk file in\n"
    "\nExamples:\n"
    "  pyk --dir /var/lib/app/db put user:1 Ada\n"
    "  pyk --dir /var/lib/app/db put session:9 token --ttl 30m\n"
    "  pyk --dir /var/lib/app/db get --raw blob:7 > blob.bin; pyk -d db put blob:8 - < blob.bin\n"
    "  pyk --dir /var/lib/app/db merge\n"
    "  pyk --dir old export | pyk --dir new import\n"
    "  pyk --dir new import --from-python-pyk file.db\n"
    "\nOnly put and import create a store; the other commands on a missing\n"
    "directory exit 2.\n"
    "\nExit codes: 0 ok, 1 key not found (get, del) or export incomplete (damaged keys),\n"
    "2 usage or I/O error,\n"
    "3 store damaged (run pyk-fsck --repair DIR), 4 another process has the store open.\n";

// The --backend help: every backend open_directory accepts.
std::string backends_help() {
  std::string names;
  for (const auto& name : pyk::backend_names()) names += (names.empty() ? "" : ", ") + name;
  return "storage backend: " + names + " (default file)";
}

void need_args(const std::vector<std::string>& args, std::size_t min, std::size_t max,
               const std::string& usage) {
  if (args.size() < min || args.size() > max) throw po::error("usage: pyk " + usage);
}

}  // namespace

int main(int argc, char** argv) {
  return run_main("pyk", [&]() -> int {
    std::string dir = ".", backend = "file", ttl, prefix, python_file;
    std::vector<std::string> words;
    bool json = false, raw = false, seal = false;
    po::options_description desc(
        "pyk: read and write a pyk store.\n\nUsage: pyk [options] COMMAND [ARGS]\n\nOptions");
    desc.add_options()(
        "dir,d", po::value(&dir), "store directory (default: current directory)")(
        "backend,b", po::value(&backend), backends_help().c_str())(
        "ttl", po::value(&ttl), "put: expire after e.g. 30s, 5m, 2h, 1d, 500ms")(
        "prefix", po::value(&prefix), "keys: only keys starting with this")(
        "json", po::bool_switch(&json), "stats, merge: JSON output")(
        "raw", po::bool_switch(&raw), "get: the value's bytes only, no newline")(
        "seal", po::bool_switch(&seal), "merge: seal the segment being written first")(
        "from-python-pyk", po::value(&python_file), "import: a file of the Python pyk");
    po::options_description hidden;
    hidden.add_options()("words", po::value(&words));
    po::variables_map vm;
    if (auto done = parse_command_line(argc, argv, "pyk", desc, hidden, "words", kExamples, vm)) {
      return *done;
    }
    if (words.empty()) throw po::error("no command given");
    const std::string command = words.front();
    const std::vector<std::string> args(words.begin() + 1, words.end());

    pyk::Options options;
    options.backend = backend;
    // Only put and import may create a store; anything else on a missing
    // directory is an error, not a new empty store.
    options.create_if_missing = command == "put" || command == "import";
    if (!options.create_if_missing && !std::filesystem::is_directory(dir))
      throw pyk::IoError("no store at " + dir + " (only put and import create one)", dir, ENOENT);
    auto open_reader = [&] {
      options.read_only = true;
      options.create_if_missing = false;
      return pyk::Store::open(dir, options);
    };
    if (command == "get") {
      need_args(args, 1, 1, "get KEY");
      auto db = open_reader();
      const auto value = db.get(args[0]);
      if (!value) {
        std::cerr << "pyk: " << escape_text(args[0]) << ": not found\n";
        return kFound;
      }
      std::cout.write(value->data(), static_cast<std::streamsize>(value->size()));
      if (!raw) std::cout << '\n';
    } else if (command == "put") {
      need_args(args, 1, 2, "put KEY [VALUE|-] [--ttl D]");
      std::string value;
      if (args.size() == 2 && args[1] != "-") {
        value = args[1];
      } else {
        value.assign(std::istreambuf_iterator<char>(std::cin), {});
        if (std::cin.bad()) throw pyk::IoError("read of stdin failed", "-", EIO);
      }
      auto db = pyk::Store::open(dir, options);
      if (vm.count("ttl")) {
        const auto micros = parse_duration_micros(ttl);
        if (!micros) throw po::error("bad --ttl '" + ttl + "' (e.g. 30s, 5m, 2h, 1d, 500ms)");
        db.put(args[0], value, std::chrono::microseconds(*micros));
      } else {
        db.put(args[0], value);
      }
      db.close();
    } else if (command == "del") {
      need_args(args, 1, 1, "del KEY");
      auto db = pyk::Store::open(dir, options);
      const bool erased = db.erase(args[0]);
      db.close();
      if (!erased) {
        std::cerr << "pyk: " << escape_text(args[0]) << ": not found\n";
        return kFound;
      }
    } else if (command == "keys") {
      need_args(args, 0, 0, "keys [--prefix P]");
      auto db = open_reader();
      for (const auto& key : db.keys(prefix)) std::cout << escape_text(key) << '\n';
    } else if (command == "stats") {
      need_args(args, 0, 0, "stats [--json]");
      auto db = open_reader();
      const auto s = db.stats();
      if (json) {
        std::cout << "{\"live_keys\":" << db.size() << ",\"keydir_keys\":" << s.keys
                  << ",\"disk_bytes\":" << s.disk_bytes << ",\"keydir_bytes\":" << s.keydir_bytes
                  << ",\"torn_tails_dropped\":" << s.torn_tails_dropped
                  << ",\"torn_bytes_dropped\":" << s.torn_bytes_dropped << ",\"segments\":[";
        for (std::size_t i = 0; i < s.segments.size(); ++i) {
          const auto& g = s.segments[i];
          std::cout << (i ? "," : "") << "{\"id\":" << g.id << ",\"bytes\":" << g.bytes
                    << ",\"live_keys\":" << g.live_keys << ",\"live_bytes\":" << g.live_bytes
                    << ",\"dead_bytes\":" << g.dead_bytes << "}";
        }
        std::cout << "]}\n";
      } else {
        std::cout << "live keys: " << db.size() << "\nkeys in keydir: " << s.keys
                  << "\ndisk bytes: " << s.disk_bytes << "\nkeydir bytes: " << s.keydir_bytes
                  << "\nsegments: " << s.segments.size() << '\n';
        for (const auto& g : s.segments)
          std::cout << "  segment " << g.id << ": " << g.bytes << " bytes, " << g.live_keys
                    << " live keys, " << g.live_bytes << " live bytes, " << g.dead_bytes
                    << " dead bytes\n";
      }
    } else if (command == "merge") {
      need_args(args, 0, 0, "merge [--seal] [--json]");
      auto db = pyk::Store::open(dir, options);
      const auto before = db.stats();
      if (seal) db.seal_active();
      db.merge();
      const auto after = db.stats();
      db.close();
      const bool merged = after.merges > before.merges;
      if (json) {
        std::cout << "{\"merged\":" << (merged ? "true" : "false")
                  << ",\"segments_before\":" << before.segments.size()
                  << ",\"segments_after\":" << after.segments.size()
                  << ",\"disk_bytes_before\":" << before.disk_bytes
                  << ",\"disk_bytes_after\":" << after.disk_bytes << "}\n";
      } else if (merged) {
        std::cout << "merged: segments " << before.segments.size() << " -> "
                  << after.segments.size() << ", disk bytes " << before.disk_bytes << " -> "
                  << after.disk_bytes << '\n';
      } else {
        std::cout << "nothing to merge: no sealed segment holds enough dead bytes (the segment "
                     "being written to is merged only with --seal); "
                  << before.segments.size() << " segments, " << before.disk_bytes
                  << " disk bytes\n";
      }
    } else if (command == "export") {
      need_args(args, 0, 0, "export");
      open_reader().close();  // damage Store::open refuses is an error here
      if (export_store(*open_source(dir).directory, std::cout).live_incomplete()) {
        std::cout.flush();
        std::cerr << "pyk: export incomplete: keys whose newest record is damaged are marked, "
                     "not exported (check with: pyk-fsck " << dir << ")\n";
        return kFound;
      }
    } else if (command == "import") {
      ImportStats stats;
      if (vm.count("from-python-pyk")) {
        need_args(args, 0, 0, "import --from-python-pyk FILE");
        const Source source = open_source(python_file);
        if (source.file.empty()) throw po::error(python_file + " is a directory, not a Python pyk file");
        auto db = pyk::Store::open(dir, options);
        stats = import_python_pyk(db, *source.directory, source.file);
        db.close();
      } else {
        need_args(args, 0, 1, "import [FILE|-]");
        auto db = pyk::Store::open(dir, options);
        if (args.empty() || args[0] == "-") {
          stats = import_jsonl(db, std::cin);
        } else {
          std::ifstream in(args[0], std::ios::binary);
          if (!in) throw pyk::IoError("open failed for " + args[0], args[0], errno);
          stats = import_jsonl(db, in);
        }
        db.close();
      }
      std::cerr << "pyk: imported " << stats.puts << " puts, " << stats.erases << " erases ("
                << stats.expired << " expired skipped";
      if (stats.damaged_regions) std::cerr << ", " << stats.damaged_regions << " damaged regions skipped";
      if (stats.char_length_records)
        std::cerr << ", " << stats.char_length_records << " records with lengths counted in characters";
      std::cerr << ")\n";
    } else {
      throw po::error("unknown command '" + command + "'");
    }
    std::cout.flush();
    if (!std::cout) throw pyk::IoError("write to stdout failed", "-", EIO);
    return kOk;
  });
}
