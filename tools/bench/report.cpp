#include "tools/bench/report.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <sstream>

namespace pyk::bench {
namespace {

std::string fmt(const char* format, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

// 1234567 -> "1.23M", for the summary table.
std::string human(double v) {
  if (v >= 1e6) return fmt("%.2fM", v / 1e6);
  if (v >= 1e3) return fmt("%.1fk", v / 1e3);
  return fmt("%.0f", v);
}

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (static_cast<unsigned char>(c) < 0x20) {
      out += fmt("\\u%04x", static_cast<unsigned char>(c));
      continue;
    }
    out += c;
  }
  return out + "\"";
}

// A median's spread over its rounds: ops/s, or milliseconds for close and
// reopen (one operation each, reported as a time).
std::string range(const Result& r) {
  if (r.rounds <= 1) return "";
  if (r.workload == "close" || r.workload == "reopen") {
    // ops/s of a single operation is 1/seconds: the slowest round has the lowest.
    return fmt("%.1f", r.max_ops_per_sec > 0 ? 1e3 / r.max_ops_per_sec : 0) + "-" +
           fmt("%.1f ms", r.min_ops_per_sec > 0 ? 1e3 / r.min_ops_per_sec : 0);
  }
  return human(r.min_ops_per_sec) + "-" + human(r.max_ops_per_sec);
}

bool is_pyk(const std::string& engine) { return engine.rfind("pyk-", 0) == 0; }

const Result* find(const std::vector<Result>& rs, const std::string& engine,
                   const std::string& workload, std::size_t value_size) {
  for (const Result& r : rs) {
    if (r.engine == engine && r.workload == workload && r.value_size == value_size &&
        r.error.empty())
      return &r;
  }
  return nullptr;
}

// Best ops/s among pyk's backends (or the peers) for a workload.
std::pair<std::string, double> best(const std::vector<Result>& rs, const std::string& workload,
                                    std::size_t value_size, bool pyk, bool disk_only) {
  std::pair<std::string, double> out{"", 0};
  for (const Result& r : rs) {
    if (r.workload != workload || r.value_size != value_size || !r.error.empty()) continue;
    if (is_pyk(r.engine) != pyk) continue;
    if (disk_only && r.engine == "pyk-memory") continue;
    if (r.ops_per_sec() > out.second) out = {r.engine, r.ops_per_sec()};
  }
  return out;
}

// One goal of issues 9 and 10 (README "Performance") with its figure.
void goal(std::ostream& out, const std::string& what, const std::string& figure, bool met) {
  out << "- " << what << ": " << figure << " — **" << (met ? "met" : "not met") << "**\n";
}

std::string ratio(const std::string& a, double x, const std::string& b, double y) {
  return a + " " + human(x) + " vs " + b + " " + human(y) + " = " + fmt("%.2f", x / y) + "x";
}

// The goals of a 1M- or 10M-key run: keydir, reopen, close, disk, peak RSS.
void print_scale_goals(std::ostream& out, const std::vector<Result>& rs, std::size_t value_size,
                       bool at_10m, const std::map<std::string, std::uint64_t>& peaks) {
  for (const char* engine : {"pyk-file", "pyk-mmap"}) {
    const Result* fill = find(rs, engine, "fillrandom", value_size);
    if (fill && fill->keys && fill->keydir_bytes) {
      const double per_key = double(fill->keydir_bytes) / fill->keys;
      goal(out, std::string("keydir <= key + 16 bytes (16-byte keys), ") + engine,
           fmt("%.1f", per_key) + " bytes/key at " + std::to_string(fill->keys) + " keys", per_key <= 32);
    }
    const Result* reopen = find(rs, engine, "reopen", value_size);
    if (reopen)
      goal(out, std::string("reopen <= ") + (at_10m ? "500" : "50") + " ms, " + engine,
           fmt("%.1f", reopen->seconds * 1e3) + " ms for " + std::to_string(reopen->keys) + " keys",
           reopen->seconds <= (at_10m ? 0.5 : 0.05));
    const Result* close = find(rs, engine, "close", value_size);
    if (close)
      goal(out, std::string("close <= ") + (at_10m ? "1000" : "100") + " ms, " + engine,
           fmt("%.1f", close->seconds * 1e3) + " ms for " + std::to_string(close->keys) + " keys",
           close->seconds <= (at_10m ? 1.0 : 0.1));
    // Live data: key + value bytes of the keys the store holds.
    const bool churned = find(rs, engine, "overwrite", value_size) && find(rs, engine, "delete10", value_size);
    if (close && churned && close->keys && close->disk_bytes) {
      const double x = double(close->disk_bytes) / (close->keys * (16.0 + value_size));
      goal(out, std::string("disk after overwrite, delete10 and close <= 2x the live data, ") + engine,
           fmt("%.1f", close->disk_bytes / 1e6) + " MB = " + fmt("%.2f", x) + "x", x <= 2);
    }
  }
  if (const auto it = peaks.find("pyk-file"); it != peaks.end()) {
    const double mib = it->second / 1048576.0, want = at_10m ? 480 : 64;
    goal(out, "peak RSS over the run <= " + fmt("%.0f", want) + " MiB, pyk-file", fmt("%.0f", mib) + " MiB",
         mib <= want);
  }
}

void print_goals(std::ostream& out, const std::vector<Result>& rs, std::size_t value_size) {
  out << "\nGoals (" << value_size
      << "-byte values; pyk = its better disk backend, file or mmap, unless one is named):\n\n";
  std::uint64_t keys = 0;
  for (const Result& r : rs)
    if (r.value_size == value_size && r.workload == "fillrandom") keys = std::max(keys, r.keys);
  const bool at_10m = keys >= 10'000'000;
  const auto peer = [&](const std::string& w) {
    // At 10M keys the goals name tkrzw HashDBM; otherwise the fastest peer.
    if (!at_10m) return best(rs, w, value_size, false, false);
    const Result* t = find(rs, "tkrzw", w, value_size);
    return std::pair<std::string, double>{"tkrzw", t ? t->ops_per_sec() : 0};
  };
  for (const char* w : {"fillrandom", "overwrite", "readrandom"}) {
    const auto p = best(rs, w, value_size, true, true);
    const auto q = peer(w);
    if (p.second == 0 || q.second == 0 || (at_10m && std::string(w) == "overwrite")) continue;  // no 10M goal
    const double want = std::string(w) == "readrandom" || at_10m ? 1.5 : 2.0;
    goal(out, std::string(w) + " >= " + fmt("%.1f", want) + "x " + q.first, ratio(p.first, p.second, q.first, q.second),
         p.second >= want * q.second);
    if (std::string(w) == "readrandom" && !at_10m)
      if (const Result* f = find(rs, "pyk-file", w, value_size))
        goal(out, "readrandom, pyk-file >= 1.0x " + q.first,
             ratio("pyk-file", f->ops_per_sec(), q.first, q.second), f->ops_per_sec() >= q.second);
  }
  {
    const auto p = best(rs, "readseq", value_size, true, true);
    const Result* t = find(rs, "tkrzw", "readseq", value_size);
    const Result* k = find(rs, "kyoto", "readseq", value_size);
    const Result* q = !t ? k : !k ? t : t->ops_per_sec() >= k->ops_per_sec() ? t : k;
    if (p.second > 0 && q)
      goal(out, "readseq >= 1.0x the better of tkrzw and kyoto",
           ratio(p.first, p.second, q->engine, q->ops_per_sec()), p.second >= q->ops_per_sec());
    const auto m = best(rs, "mixed", value_size, true, true);
    const auto n = best(rs, "mixed", value_size, false, false);
    if (m.second > 0 && n.second > 0)
      goal(out, "mixed (2 threads, 90/10) >= 1.0x " + n.first, ratio(m.first, m.second, n.first, n.second),
           m.second >= n.second);
  }
  for (const char* engine : {"pyk-file", "pyk-mmap"}) {
    const auto own = [&](const char* w) {
      const Result* r = find(rs, engine, w, value_size);
      return r ? r->ops_per_sec() : 0.0;
    };
    if (own("readrandom") > 0 && own("readrandom2") > 0)
      goal(out, std::string("readrandom on 2 threads >= 1.8x 1 thread, ") + engine,
           ratio("2 threads", own("readrandom2"), "1 thread", own("readrandom")),
           own("readrandom2") >= 1.8 * own("readrandom"));
    if (own("readrandom") > 0 && own("getmany16") > 0)
      goal(out, std::string("getmany16 >= 2x single-key readrandom, ") + engine,
           ratio("getmany16", own("getmany16"), "readrandom", own("readrandom")),
           own("getmany16") >= 2 * own("readrandom"));
    for (const char* w : {"fillsync1", "fillsync4"}) {
      const Result* base = find(rs, "leveldb", w, value_size);
      if (base && own(w) > 0)
        goal(out, std::string(w) + " >= 1.5x leveldb, " + engine,
             ratio(engine, own(w), "leveldb", base->ops_per_sec()), own(w) >= 1.5 * base->ops_per_sec());
    }
  }
  // Peak RSS over the whole run of each engine: its largest per-workload peak.
  std::map<std::string, std::uint64_t> peaks;
  for (const Result& r : rs)
    if (r.value_size == value_size && r.error.empty())
      peaks[r.engine] = std::max(peaks[r.engine], r.peak_rss);
  // The rest are set at 1M and 10M keys (a smaller store's keydir is mostly
  // its first arena chunk).
  if (keys >= 1'000'000) print_scale_goals(out, rs, value_size, at_10m, peaks);
  if (!peaks.empty()) {
    out << "- peak RSS over all workloads:";
    for (const auto& [engine, peak] : peaks) out << ' ' << engine << ' ' << fmt("%.0f", peak / 1e6) << " MB;";
    out << "\n";
  }
}

}  // namespace

void print_settings(std::ostream& out, const std::vector<EngineInfo>& engines) {
  out << "Engine settings:\n\n";
  for (const EngineInfo& e : engines) out << "- **" << e.name << "**: " << e.settings << "\n";
  out << "\n";
}

void print_markdown(std::ostream& out, const std::vector<Result>& rs) {
  std::vector<std::size_t> sizes;
  std::vector<std::string> engines, workloads;
  for (const Result& r : rs) {
    if (std::find(sizes.begin(), sizes.end(), r.value_size) == sizes.end()) sizes.push_back(r.value_size);
    if (std::find(engines.begin(), engines.end(), r.engine) == engines.end()) engines.push_back(r.engine);
    if (std::find(workloads.begin(), workloads.end(), r.workload) == workloads.end())
      workloads.push_back(r.workload);
  }
  for (std::size_t size : sizes) {
    out << "### " << size << "-byte values: operations/s\n\n| workload |";
    for (const auto& e : engines) out << ' ' << e << " |";
    out << "\n|---|";
    for (std::size_t i = 0; i < engines.size(); ++i) out << "---:|";
    out << '\n';
    for (const auto& w : workloads) {
      out << "| " << w << " |";
      for (const auto& e : engines) {
        const Result* r = nullptr;
        for (const Result& x : rs)
          if (x.engine == e && x.workload == w && x.value_size == size) r = &x;
        if (!r) out << " |";
        else if (!r->error.empty()) out << " error |";
        else if (w == "reopen" || w == "close") out << ' ' << fmt("%.1f ms", r->seconds * 1e3) << " |";
        else out << ' ' << human(r->ops_per_sec()) << " |";
      }
      out << '\n';
    }
    print_goals(out, rs, size);

    int rounds = 1;
    for (const Result& r : rs) rounds = std::max(rounds, r.rounds);
    out << "\n### " << size << "-byte values: details\n\n"
        << "| engine | workload | thr | ops/s | MB/s | p50 µs | p99 µs | p99.9 µs | disk MB | "
           "peak RSS MB | keydir B/key |"
        << (rounds > 1 ? " range of " + std::to_string(rounds) + " rounds |" : "") << "\n"
        << "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|" << (rounds > 1 ? "---|" : "") << "\n";
    for (const auto& e : engines) {
      for (const Result& r : rs) {
        if (r.engine != e || r.value_size != size) continue;
        out << "| " << r.engine << " | " << r.workload << " | " << r.threads << " | ";
        if (!r.error.empty()) {
          out << "error: " << r.error << " | | | | | | | |\n";
          continue;
        }
        out << human(r.ops_per_sec()) << " | " << fmt("%.1f", r.mb_per_sec()) << " | "
            << fmt("%.2f", r.p50_us) << " | " << fmt("%.2f", r.p99_us) << " | "
            << fmt("%.2f", r.p999_us) << " | " << fmt("%.1f", r.disk_bytes / 1e6) << " | "
            << fmt("%.0f", r.peak_rss / 1e6) << " | "
            << (r.keydir_bytes && r.keys ? fmt("%.1f", double(r.keydir_bytes) / r.keys) : "")
            << " |";
        if (rounds > 1) out << ' ' << range(r) << " |";
        out << '\n';
      }
    }
    out << '\n';
  }
  for (const Result& r : rs)
    if (!r.error.empty()) out << "- " << r.engine << " " << r.workload << ": " << r.error << "\n";
}

void write_json(std::ostream& out, const Params& p, int rounds, const std::vector<EngineInfo>& engines,
                const std::vector<Result>& rs, const std::string& machine) {
  out << "{\n  \"machine\": " << json_string(machine) << ",\n  \"params\": {\"num\": " << p.num
      << ", \"sync_num\": " << p.sync_num << ", \"seed\": " << p.seed << ", \"key_size\": 16"
      << ", \"rounds\": " << rounds << "},\n"
      << "  \"engines\": {";
  for (std::size_t i = 0; i < engines.size(); ++i)
    out << (i ? ",\n    " : "\n    ") << json_string(engines[i].name) << ": "
        << json_string(engines[i].settings);
  out << "\n  },\n  \"results\": [";
  for (std::size_t i = 0; i < rs.size(); ++i) {
    const Result& r = rs[i];
    out << (i ? ",\n    " : "\n    ") << "{\"engine\": " << json_string(r.engine)
        << ", \"workload\": " << json_string(r.workload) << ", \"threads\": " << r.threads
        << ", \"value_size\": " << r.value_size << ", \"ops\": " << r.ops
        << ", \"found\": " << r.found << ", \"seconds\": " << fmt("%.6f", r.seconds)
        << ", \"ops_per_sec\": " << fmt("%.1f", r.ops_per_sec())
        << ", \"mb_per_sec\": " << fmt("%.3f", r.mb_per_sec())
        << ", \"p50_us\": " << fmt("%.3f", r.p50_us) << ", \"p99_us\": " << fmt("%.3f", r.p99_us)
        << ", \"p999_us\": " << fmt("%.3f", r.p999_us) << ", \"disk_bytes\": " << r.disk_bytes
        << ", \"peak_rss_bytes\": " << r.peak_rss << ", \"keys\": " << r.keys
        << ", \"keydir_bytes\": " << r.keydir_bytes << ", \"rounds\": " << r.rounds;
    if (r.rounds > 1)
      out << ", \"ops_per_sec_min\": " << fmt("%.1f", r.min_ops_per_sec)
          << ", \"ops_per_sec_max\": " << fmt("%.1f", r.max_ops_per_sec);
    if (!r.error.empty()) out << ", \"error\": " << json_string(r.error);
    out << "}";
  }
  out << "\n  ]\n}\n";
}

std::string to_line(const Result& r) {
  std::ostringstream s;
  s.precision(17);
  auto clean = [](std::string v) {
    std::replace(v.begin(), v.end(), '\t', ' ');
    std::replace(v.begin(), v.end(), '\n', ' ');
    return v.empty() ? std::string("-") : v;
  };
  s << clean(r.engine) << '\t' << clean(r.workload) << '\t' << r.threads << '\t' << r.value_size
    << '\t' << r.ops << '\t' << r.found << '\t' << r.seconds << '\t' << r.bytes << '\t' << r.p50_us
    << '\t' << r.p99_us << '\t' << r.p999_us << '\t' << r.disk_bytes << '\t' << r.peak_rss << '\t'
    << r.keys << '\t' << r.keydir_bytes << '\t' << clean(r.error) << '\n';
  return s.str();
}

Result from_line(const std::string& line) {
  std::istringstream s(line);
  Result r;
  std::string field;
  std::vector<std::string> f;
  while (std::getline(s, field, '\t')) f.push_back(field);
  if (f.size() != 16) throw std::runtime_error("bad result line: " + line);
  r.engine = f[0];
  r.workload = f[1];
  r.threads = std::stoi(f[2]);
  r.value_size = std::stoull(f[3]);
  r.ops = std::stoull(f[4]);
  r.found = std::stoull(f[5]);
  r.seconds = std::stod(f[6]);
  r.bytes = std::stoull(f[7]);
  r.p50_us = std::stod(f[8]);
  r.p99_us = std::stod(f[9]);
  r.p999_us = std::stod(f[10]);
  r.disk_bytes = std::stoull(f[11]);
  r.peak_rss = std::stoull(f[12]);
  r.keys = std::stoull(f[13]);
  r.keydir_bytes = std::stoull(f[14]);
  r.error = f[15] == "-" ? "" : f[15];
  return r;
}

}  // namespace pyk::bench
