// pyk-bench: db_bench-style workloads run with one set of parameters against
// pyk on each backend and (built with peers=on) LevelDB, RocksDB, LMDB, tkrzw
// and Kyoto Cabinet. Each engine runs in a forked child, so peak RSS is its own.
// Prints Markdown to stdout; --json writes the same results for scripts.
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/algorithm/string.hpp>
#include <boost/program_options.hpp>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include "tools/bench/engine.h"
#include "tools/bench/report.h"
#include "tools/bench/rounds.h"
#include "tools/bench/workload.h"

namespace po = boost::program_options;
using namespace pyk::bench;

namespace {

constexpr const char* kExamples = R"(Examples:
  pyk-bench                                   every engine, every workload, 1M keys, 100-byte values
  pyk-bench --value-size 100,4096 --json out.json
  pyk-bench --engines pyk-file,leveldb --workloads fillrandom,readrandom --num 200000
  pyk-bench --value-size 4096 --num 100000 --sync-num 5000
  pyk-bench --rounds 3                        each engine three times, in turns; medians reported
  pyk-bench --num 10000000 --engines pyk-file,tkrzw --workloads fillrandom,overwrite,delete10,close,reopen
  pyk-bench --list                            engines compiled in and their settings
)";

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  if (s.empty()) return out;
  boost::split(out, s, boost::is_any_of(","));
  return out;
}

std::string machine_description() {
  std::ostringstream out;
  utsname u{};
  uname(&u);
  std::string cpu;
  std::ifstream cpuinfo("/proc/cpuinfo");
  for (std::string line; std::getline(cpuinfo, line);) {
    if (line.rfind("model name", 0) == 0) {
      cpu = line.substr(line.find(':') + 2);
      break;
    }
  }
  std::string mem;
  std::ifstream meminfo("/proc/meminfo");
  std::getline(meminfo, mem);
  boost::trim(mem);
  out << u.sysname << ' ' << u.release << ' ' << u.machine << ", " << std::thread::hardware_concurrency()
      << " CPUs (" << cpu << "), " << mem;
  return out.str();
}

// Runs one engine in a child process; its results come back over a pipe.
std::vector<Result> run_forked(const EngineInfo& engine, const Params& params) {
  int fds[2];
  if (pipe(fds) != 0) throw std::runtime_error("pipe failed");
  std::cout.flush();
  const pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    close(fds[0]);
    int status = 0;
    try {
      run_engine(engine, params, [&](const Result& r) {
        const std::string line = to_line(r);
        if (write(fds[1], line.data(), line.size()) != static_cast<ssize_t>(line.size())) status = 3;
      });
    } catch (const std::exception& e) {
      std::cerr << "pyk-bench: " << engine.name << ": " << e.what() << '\n';
      status = 2;
    }
    close(fds[1]);
    _exit(status);
  }
  close(fds[1]);
  std::string data;
  char buf[4096];
  for (ssize_t got; (got = read(fds[0], buf, sizeof buf)) > 0;) data.append(buf, got);
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  std::vector<Result> out;
  std::istringstream lines(data);
  for (std::string line; std::getline(lines, line);) out.push_back(from_line(line));
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    Result r;
    r.engine = engine.name;
    r.workload = "(child)";
    r.value_size = params.value_size;
    r.error = WIFSIGNALED(status) ? "killed by signal " + std::to_string(WTERMSIG(status))
                                  : "exit status " + std::to_string(WEXITSTATUS(status));
    out.push_back(r);
  }
  return out;
}

int run(int argc, char** argv) {
  Params params;
  std::string engines_arg, workloads_arg, sizes_arg, json_path;
  int rounds = 1;
  po::options_description opts("pyk-bench options");
  opts.add_options()
      ("help,h", "show this help")
      ("list", "list the engines compiled in, with their settings, and the workloads")
      ("engines", po::value(&engines_arg), "comma-separated engines (default: all compiled in)")
      ("workloads", po::value(&workloads_arg), "comma-separated workloads, run in the given order "
       "(default: all). Reads, overwrite, mixed, reopen and deleterandom fill the store first "
       "(untimed) when no fill ran before them")
      ("num,n", po::value(&params.num)->default_value(params.num), "keys per workload")
      ("sync-num", po::value(&params.sync_num)->default_value(params.sync_num),
       "writes per fillsync run (each one fsyncs), split over its threads")
      ("value-size", po::value(&sizes_arg)->default_value("100"),
       "comma-separated value sizes in bytes; each is a separate run")
      ("rounds", po::value(&rounds)->default_value(rounds),
       "run every engine this many times, the engines taking turns in each round, and report "
       "each figure's median (the details give its range)")
      ("seed", po::value(&params.seed)->default_value(params.seed), "seed for keys and values")
      ("dir", po::value(&params.dir)->default_value("/tmp/pyk-bench"),
       "scratch directory (each engine uses <dir>/<engine>, removed afterwards unless --keep-dir)")
      ("json", po::value(&json_path), "also write the results as JSON to this file")
      ("keep-dir", po::bool_switch(&params.keep_dir), "leave each engine's files in <dir>/<engine> after its run")
      ("no-fork", "run engines in this process (for profilers; peak RSS is then cumulative)");
  po::variables_map vm;
  po::store(po::parse_command_line(argc, argv, opts), vm);
  po::notify(vm);
  const auto engines = all_engines();
  if (vm.count("help")) {
    std::cout << "Usage: pyk-bench [options]\n\n" << opts << '\n' << kExamples;
    return 0;
  }
  if (vm.count("list")) {
    print_settings(std::cout, engines);
    std::cout << "Workloads: " << boost::join(workload_names(), ", ") << '\n';
    return 0;
  }
  params.workloads = split(workloads_arg);
  for (const auto& w : params.workloads) {
    if (std::find(workload_names().begin(), workload_names().end(), w) == workload_names().end())
      throw po::error("unknown workload \"" + w + "\" (see --list)");
  }
  std::vector<EngineInfo> chosen;
  if (engines_arg.empty()) {
    chosen = engines;
  } else {
    for (const auto& name : split(engines_arg)) {
      auto it = std::find_if(engines.begin(), engines.end(), [&](const auto& e) { return e.name == name; });
      if (it == engines.end()) throw po::error("unknown engine \"" + name + "\" (see --list)");
      chosen.push_back(*it);
    }
  }
  if (params.num == 0 || params.num > 0xffffffffull) throw po::error("--num must be 1..2^32-1");
  if (params.sync_num < 4) throw po::error("--sync-num must be at least 4");
  if (rounds < 1 || rounds > 99) throw po::error("--rounds must be 1..99");

  const std::string machine = machine_description();
  std::vector<Result> results;
  for (const auto& size : split(sizes_arg)) {
    params.value_size = std::stoul(size);
    std::vector<std::vector<std::vector<Result>>> passes(chosen.size());  // [engine][round]
    for (int round = 1; round <= rounds; ++round) {
      for (std::size_t e = 0; e < chosen.size(); ++e) {
        std::cerr << "pyk-bench: " << chosen[e].name << ", " << params.value_size << "-byte values";
        if (rounds > 1) std::cerr << ", round " << round << " of " << rounds;
        std::cerr << '\n';
        std::vector<Result> got;
        if (vm.count("no-fork")) {
          run_engine(chosen[e], params, [&](const Result& r) { got.push_back(r); });
        } else {
          got = run_forked(chosen[e], params);
        }
        passes[e].push_back(std::move(got));
      }
    }
    for (const auto& engine_passes : passes) {
      const std::vector<Result> got = median_of_rounds(engine_passes);
      results.insert(results.end(), got.begin(), got.end());
    }
  }
  std::cout << "pyk-bench: " << params.num << " keys of 16 bytes, fillsync " << params.sync_num
            << " writes, seed " << params.seed;
  if (rounds > 1) std::cout << ", medians of " << rounds << " rounds (the engines take turns in each)";
  std::cout << "\n" << machine << "\n\n";
  print_markdown(std::cout, results);
  print_settings(std::cout, chosen);
  if (!json_path.empty()) {
    std::ofstream json(json_path);
    write_json(json, params, rounds, chosen, results, machine);
    if (!json) throw std::runtime_error("cannot write " + json_path);
  }
  for (const Result& r : results)
    if (!r.error.empty()) return 1;
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const po::error& e) {
    std::cerr << "pyk-bench: " << e.what() << "\n(see pyk-bench --help)\n";
    return 64;
  } catch (const std::exception& e) {
    std::cerr << "pyk-bench: " << e.what() << '\n';
    return 1;
  }
}
