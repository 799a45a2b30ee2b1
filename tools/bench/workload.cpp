#include "tools/bench/workload.h"

#include <algorithm>
#include <barrier>
#include <chrono>
#include <filesystem>
#include <mutex>
#include <fstream>
#include <stdexcept>
#include <string_view>
#include <thread>

#include "tools/bench/histogram.h"
#include "tools/bench/progress.h"
#include "tools/bench/stopwatch.h"

namespace pyk::bench {
namespace {

// splitmix64: a small, fast, well-mixed generator; the same seed gives the
// same keys and values on every machine.
struct Rng {
  std::uint64_t state;
  std::uint64_t next() {
    std::uint64_t z = (state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  std::uint64_t below(std::uint64_t n) { return next() % n; }
};

// Values are slices of one block of random (incompressible) bytes.
class Values {
 public:
  Values(std::uint64_t seed, std::size_t size) : size_(size), data_(kBlock + size, '\0') {
    Rng rng{seed ^ 0x76616c756573ull};
    for (char& c : data_) c = static_cast<char>(rng.next() >> 56);
  }
  std::string_view pick(Rng& rng) const { return {data_.data() + rng.below(kBlock), size_}; }

 private:
  static constexpr std::size_t kBlock = 1 << 20;
  std::size_t size_;
  std::string data_;
};

std::vector<std::uint32_t> permutation(std::uint64_t n, std::uint64_t seed) {
  std::vector<std::uint32_t> out(n);
  for (std::uint64_t i = 0; i < n; ++i) out[i] = static_cast<std::uint32_t>(i);
  Rng rng{seed};
  for (std::uint64_t i = n; i > 1; --i) std::swap(out[i - 1], out[rng.below(i)]);
  return out;
}

// Peak RSS of this process since the last reset (Linux: VmHWM, reset by
// writing 5 to /proc/self/clear_refs).
void reset_peak_rss() { std::ofstream("/proc/self/clear_refs") << "5"; }
std::uint64_t peak_rss() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stoull(line.substr(6)) * 1024;
  }
  return 0;
}

// Per-thread body: op(session, rng, index, bytes) does one operation.
using Op = std::function<void(Session&, Rng&, std::uint64_t, std::uint64_t&, std::uint64_t&)>;

struct Timed {
  double seconds = 0;
  Clock::time_point begin, end;  // this thread's first and last operation
  Histogram histogram;
  std::uint64_t bytes = 0;
  std::uint64_t found = 0;
};

// Runs `ops` operations split over `threads` threads, timing each one.
Timed run_threads(Engine& engine, int threads, std::uint64_t ops, std::uint64_t seed,
                  Progress& progress, const Op& op) {
  std::vector<Timed> per_thread(threads);
  std::barrier start(threads + 1);
  std::vector<std::jthread> workers;
  std::exception_ptr failure;
  std::mutex failure_mutex;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      auto session = engine.session();
      Rng rng{seed * 1000003 + static_cast<std::uint64_t>(t)};
      Timed& mine = per_thread[t];
      const std::uint64_t begin = ops * t / threads, end = ops * (t + 1) / threads;
      start.arrive_and_wait();
      try {
        auto last = mine.begin = Clock::now();
        for (std::uint64_t i = begin; i < end; ++i) {
          op(*session, rng, i, mine.bytes, mine.found);
          const auto now = Clock::now();
          mine.histogram.record(static_cast<std::uint64_t>((now - last).count()));
          last = now;
          if ((i & 1023) == 1023) progress.tick(1024);
        }
        mine.end = last;
      } catch (...) {
        std::lock_guard lock(failure_mutex);
        failure = std::current_exception();
      }
    });
  }
  start.arrive_and_wait();
  workers.clear();  // joins
  if (failure) std::rethrow_exception(failure);
  // Wall time from the first thread's start to the last one's end (the
  // threads time themselves: on a busy machine this thread may wake late).
  Timed out;
  auto begin = per_thread[0].begin, end = per_thread[0].end;
  for (const Timed& t : per_thread) {
    begin = std::min(begin, t.begin);
    end = std::max(end, t.end);
  }
  out.seconds = seconds_between(begin, end);
  for (const Timed& t : per_thread) {
    out.histogram.merge(t.histogram);
    out.bytes += t.bytes;
    out.found += t.found;
  }
  return out;
}

// What the store holds between workloads.
enum class Data {
  none,       // nothing known (empty, or emptied by deleterandom, or after a failure)
  all,        // keys 0..n-1
  most,       // keys 0..n-1 but those delete10 took (i % 10 == 9)
};

// Workloads that need every key present (they check what they find).
bool needs_all(const std::string& w) {
  return w == "readrandom" || w == "readrandom2" || w == "getmany16" || w == "readmissing" || w == "readseq" ||
         w.rfind("mixed", 0) == 0 || w == "delete10";
}
// Workloads that need keys 0..n-1 written, some maybe deleted since.
bool needs_some(const std::string& w) {
  return w == "overwrite" || w == "close" || w == "reopen" || w == "deleterandom";
}

}  // namespace

const std::vector<std::string>& workload_names() {
  static const std::vector<std::string> names = {
      "fillseq",   "fillrandom", "overwrite", "readrandom", "readrandom2", "getmany16",
      "readmissing", "readseq", "mixed",    "delete10",   "close",       "reopen",
      "deleterandom", "fillsync1", "fillsync2", "fillsync4"};
  return names;
}

void make_key(std::uint64_t i, char (&out)[16]) {
  for (int p = 15; p >= 0; --p) {
    out[p] = static_cast<char>('0' + i % 10);
    i /= 10;
  }
}

void make_missing_key(std::uint64_t i, char (&out)[16]) {
  make_key(i, out);
  out[15] = 'x';
}

void run_engine(const EngineInfo& info, const Params& params,
                const std::function<void(const Result&)>& emit) {
  const std::uint64_t n = params.num;
  const Values values(params.seed, params.value_size);
  const std::string dir = params.dir + "/" + info.name;
  std::unique_ptr<Engine> engine;
  Data data = Data::none;

  auto open = [&](bool fresh, bool sync, std::uint64_t keys) {
    engine.reset();
    if (fresh) {
      std::filesystem::remove_all(dir);
      std::filesystem::create_directories(dir);
    }
    EngineConfig config{dir, keys, params.value_size, sync, fresh};
    engine = info.open(config);
  };
  auto fill = [&](Session& s, Rng& rng, std::uint64_t i, std::uint64_t& bytes, std::uint64_t&,
                  const std::vector<std::uint32_t>* order) {
    char key[16];
    make_key(order ? (*order)[i] : i, key);
    const auto value = values.pick(rng);
    s.put({key, 16}, value);
    bytes += 16 + value.size();
  };

  std::vector<std::string> selected = params.workloads.empty() ? workload_names() : params.workloads;
  for (const std::string& name : selected) {
    Result r;
    r.engine = info.name;
    r.workload = name;
    r.value_size = params.value_size;
    r.keys = n;
    try {
      const bool setup_needed = needs_all(name) ? data != Data::all
                                : needs_some(name) ? data == Data::none
                                                   : false;
      if (setup_needed) {  // untimed setup when run on its own
        open(true, false, n);
        Progress setup(info.name + " (setup fill)", n);
        run_threads(*engine, 1, n, params.seed, setup,
                    [&](Session& s, Rng& rng, std::uint64_t i, std::uint64_t& b, std::uint64_t& f) {
                      fill(s, rng, i, b, f, nullptr);
                    });
        data = Data::all;
      }
      if (data == Data::most) r.keys = n - n / 10;
      // close and reopen leave the engine closed / reopen it; the rest need it open.
      if (!engine && name != "reopen" && (needs_all(name) || needs_some(name))) open(false, false, n);
      Progress progress(info.name + " " + name, name.rfind("fillsync", 0) == 0 ? params.sync_num
                                   : name == "getmany16"          ? n / 16
                                                                  : n);
      reset_peak_rss();
      Timed t;
      if (name == "fillseq" || name == "fillrandom") {
        open(true, false, n);
        const auto order = name == "fillrandom" ? permutation(n, params.seed) : std::vector<std::uint32_t>{};
        t = run_threads(*engine, 1, n, params.seed, progress,
                        [&](Session& s, Rng& rng, std::uint64_t i, std::uint64_t& b, std::uint64_t& f) {
                          fill(s, rng, i, b, f, order.empty() ? nullptr : &order);
                        });
        data = Data::all;
      } else if (name == "overwrite") {
        t = run_threads(*engine, 1, n, params.seed + 1, progress,
                        [&](Session& s, Rng& rng, std::uint64_t, std::uint64_t& b, std::uint64_t&) {
                          char key[16];
                          make_key(rng.below(n), key);
                          const auto value = values.pick(rng);
                          s.put({key, 16}, value);
                          b += 16 + value.size();
                        });
      } else if (name == "readrandom" || name == "readrandom2" || name == "readmissing") {
        const bool missing = name == "readmissing";
        r.threads = name == "readrandom2" ? 2 : 1;
        t = run_threads(*engine, r.threads, n, params.seed + 2, progress,
                        [&](Session& s, Rng& rng, std::uint64_t, std::uint64_t& b, std::uint64_t& f) {
                          thread_local std::string value;
                          char key[16];
                          missing ? make_missing_key(rng.below(n), key) : make_key(rng.below(n), key);
                          if (s.get({key, 16}, value)) {
                            ++f;
                            b += 16 + value.size();
                          }
                        });
        if (!missing && t.found != n) throw std::runtime_error("readrandom missed keys: found " + std::to_string(t.found));
        if (missing && t.found != 0) throw std::runtime_error("readmissing found keys");
      } else if (name == "getmany16") {
        // readrandom's keys in batches of 16, one Session::get_many each (a
        // loop of gets for engines without a batch read). One operation (and
        // latency) per batch; ops/s below counts keys.
        constexpr std::uint64_t kBatch = 16;
        t = run_threads(*engine, 1, n / kBatch, params.seed + 2, progress,
                        [&](Session& s, Rng& rng, std::uint64_t, std::uint64_t& b, std::uint64_t& f) {
                          thread_local std::vector<std::string> out;
                          char keys[kBatch][16];
                          std::string_view views[kBatch];
                          for (std::uint64_t k = 0; k < kBatch; ++k) {
                            make_key(rng.below(n), keys[k]);
                            views[k] = {keys[k], 16};
                          }
                          f += s.get_many(views, out);
                          for (std::uint64_t k = 0; k < kBatch; ++k) b += 16 + out[k].size();
                        });
        r.ops = n / kBatch * kBatch;
        if (t.found != r.ops) throw std::runtime_error("getmany16 missed keys: found " + std::to_string(t.found));
      } else if (name == "readseq") {
        const auto begin = Clock::now();
        std::uint64_t bytes = 0;
        t.found = engine->scan(bytes);
        t.seconds = seconds_since(begin);
        t.bytes = bytes;
        // One number per scan: report the mean time per record.
        if (t.found) t.histogram.record(static_cast<std::uint64_t>(t.seconds * 1e9 / t.found));
        if (t.found != n) throw std::runtime_error("readseq saw " + std::to_string(t.found) + " records");
      } else if (name == "mixed") {
        r.threads = 2;
        t = run_threads(*engine, 2, n, params.seed + 3, progress,
                        [&](Session& s, Rng& rng, std::uint64_t, std::uint64_t& b, std::uint64_t& f) {
                          thread_local std::string value;
                          char key[16];
                          make_key(rng.below(n), key);
                          if (rng.below(10) == 0) {
                            const auto v = values.pick(rng);
                            s.put({key, 16}, v);
                            b += 16 + v.size();
                          } else if (s.get({key, 16}, value)) {
                            ++f;
                            b += 16 + value.size();
                          }
                        });
      } else if (name == "delete10") {
        // Every tenth key (i % 10 == 9), in random order: the deletes of the
        // "disk after overwrite, deletes and close" figure.
        const auto order = permutation(n / 10, params.seed + 6);
        t = run_threads(*engine, 1, n / 10, params.seed + 6, progress,
                        [&](Session& s, Rng&, std::uint64_t i, std::uint64_t& b, std::uint64_t&) {
                          char key[16];
                          make_key(std::uint64_t{order[i]} * 10 + 9, key);
                          s.erase({key, 16});
                          b += 16;
                        });
        data = Data::most;
        r.keys = n - n / 10;
      } else if (name == "close") {
        const auto begin = Clock::now();
        engine->close();
        t.seconds = seconds_since(begin);
        t.histogram.record(static_cast<std::uint64_t>(t.seconds * 1e9));
        engine.reset();
        r.ops = 1;
      } else if (name == "reopen") {
        if (engine) engine->close();  // untimed: the close workload times it
        engine.reset();
        reset_peak_rss();
        const auto begin = Clock::now();
        open(false, false, n);
        std::string value;
        char key[16];
        make_key(n / 2 / 10 * 10, key);  // a key delete10 leaves
        if (!engine->session()->get({key, 16}, value)) throw std::runtime_error("reopen lost keys");
        t.seconds = seconds_since(begin);
        t.histogram.record(static_cast<std::uint64_t>(t.seconds * 1e9));
        r.ops = 1;
      } else if (name == "deleterandom") {
        const auto order = permutation(n, params.seed + 4);
        t = run_threads(*engine, 1, n, params.seed + 4, progress,
                        [&](Session& s, Rng&, std::uint64_t i, std::uint64_t& b, std::uint64_t&) {
                          char key[16];
                          make_key(order[i], key);
                          s.erase({key, 16});
                          b += 16;
                        });
        data = Data::none;
        r.keys = 0;
      } else if (name.rfind("fillsync", 0) == 0) {
        const int threads = std::stoi(name.substr(8));
        r.threads = threads;
        r.keys = params.sync_num;
        open(true, true, params.sync_num);
        t = run_threads(*engine, threads, params.sync_num, params.seed + 5, progress,
                        [&](Session& s, Rng& rng, std::uint64_t i, std::uint64_t& b, std::uint64_t& f) {
                          fill(s, rng, i, b, f, nullptr);
                        });
        data = Data::none;
      } else {
        throw std::runtime_error("unknown workload " + name);
      }
      r.seconds = t.seconds;
      if (r.ops == 0) r.ops = t.histogram.count();
      if (name == "readseq") r.ops = t.found;
      r.found = t.found;
      r.bytes = t.bytes;
      r.p50_us = t.histogram.percentile(0.5) / 1e3;
      r.p99_us = t.histogram.percentile(0.99) / 1e3;
      r.p999_us = t.histogram.percentile(0.999) / 1e3;
      r.peak_rss = peak_rss();
      // After close: the files it left (0 for the memory backend, which has none).
      r.disk_bytes = engine ? engine->disk_bytes() : info.name == "pyk-memory" ? 0 : directory_bytes(dir);
      r.keydir_bytes = engine ? engine->keydir_bytes() : 0;
    } catch (const std::exception& e) {
      r.error = e.what();
      engine.reset();
      data = Data::none;
    }
    emit(r);
  }
  engine.reset();
  if (!params.keep_dir) std::filesystem::remove_all(dir);
}

}  // namespace pyk::bench
