// The one interface every engine in pyk-bench is driven through, so each
// workload runs the same code against pyk and against its peers.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace pyk::bench {

// How an engine is opened for one workload.
struct EngineConfig {
  std::string dir;            // the engine's own directory (created, may be reused)
  std::uint64_t num_keys = 0; // keys the workload will hold, for sizing tables
  std::size_t value_size = 0;
  bool sync = false;          // every write durable before it returns
  bool fresh = true;          // start empty (false: reopen what is there)
};

// One thread's handle. Engines that need per-thread state (LMDB read
// transactions, reusable buffers) keep it here. Used by one thread only.
class Session {
 public:
  virtual ~Session() = default;
  virtual void put(std::string_view key, std::string_view value) = 0;
  // Copies the value into `out`; false if the key is missing.
  virtual bool get(std::string_view key, std::string& out) = 0;
  virtual void erase(std::string_view key) = 0;
  // Copies the values of `keys` into out[0..keys.size()) (a missing key's
  // left as it was); returns how many were found. Engines without a batch
  // read (the default) get one key at a time.
  virtual std::size_t get_many(std::span<const std::string_view> keys,
                               std::vector<std::string>& out);
};

class Engine {
 public:
  virtual ~Engine() = default;
  // A new handle for the calling thread; sessions must not outlive the engine.
  virtual std::unique_ptr<Session> session() = 0;
  // Reads every record once, in whatever order is fastest; returns the count
  // and adds key + value bytes to `bytes`.
  virtual std::uint64_t scan(std::uint64_t& bytes) = 0;
  // Memory held by pyk's keydir; 0 for other engines.
  virtual std::uint64_t keydir_bytes() { return 0; }
  // Bytes of the store on disk (all files of the directory by default).
  virtual std::uint64_t disk_bytes();
  // Flushes and releases everything (the destructor does it too).
  virtual void close() = 0;

 protected:
  std::string dir_;
};

// An engine as the bench knows it: a name, the settings it is opened with
// (printed in the report), and how to open it.
struct EngineInfo {
  std::string name;
  std::string settings;
  std::function<std::unique_ptr<Engine>(const EngineConfig&)> open;
};

// What every scan does with a record: copy the value out, as a reader would
// (so engines that hand out pointers into their pages still touch the bytes),
// and count key + value bytes.
void consume(std::string_view key, std::string_view value, std::uint64_t& bytes);

// Bytes of all regular files under `dir`.
std::uint64_t directory_bytes(const std::string& dir);

// The engines compiled in: pyk's backends, and the peers when built with peers=on.
std::vector<EngineInfo> all_engines();

void add_pyk_engines(std::vector<EngineInfo>& out);
#ifdef PYK_BENCH_PEERS
void add_leveldb(std::vector<EngineInfo>& out);
void add_rocksdb(std::vector<EngineInfo>& out);
void add_lmdb(std::vector<EngineInfo>& out);
void add_tkrzw(std::vector<EngineInfo>& out);
void add_kyoto(std::vector<EngineInfo>& out);
#endif

}  // namespace pyk::bench
