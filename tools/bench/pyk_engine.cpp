// pyk on each of its backends: file, mmap and memory.
#include <memory>
#include <optional>

#include "backends/memory_directory.h"
#include "core/store.h"
#include "tools/bench/engine.h"

namespace pyk::bench {
namespace {

class PykSession final : public Session {
 public:
  explicit PykSession(Store& store) : store_(store) {}
  void put(std::string_view key, std::string_view value) override { store_.put(key, value); }
  bool get(std::string_view key, std::string& out) override { return store_.get_into(key, out); }
  void erase(std::string_view key) override { store_.erase(key); }
  std::size_t get_many(std::span<const std::string_view> keys,
                       std::vector<std::string>& out) override {
    if (out.size() < keys.size()) out.resize(keys.size());
    store_.get_many_into(keys, values_);
    std::size_t found = 0;
    for (std::size_t i = 0; i < keys.size(); ++i) {
      if (!values_[i]) continue;
      out[i].swap(*values_[i]);  // both buffers keep their capacity for the next batch
      ++found;
    }
    return found;
  }

 private:
  Store& store_;
  std::vector<std::optional<std::string>> values_;  // get_many's buffers, reused
};

class PykEngine final : public Engine {
 public:
  PykEngine(const EngineConfig& config, const std::string& backend) : backend_(backend) {
    dir_ = config.dir;
    Options options;
    options.backend = backend;
    options.sync = config.sync ? SyncPolicy::always : SyncPolicy::none;
    options.expected_keys = config.num_keys;  // as Kyoto and tkrzw get their bucket counts
    // The memory backend: a directory object of our own, replaced for a fresh
    // run (so the old one's RAM is freed) and kept for a reopen.
    if (backend == "memory") {
      if (config.fresh || !memory_dir()) memory_dir() = std::make_shared<MemoryDirectory>();
      options.directory = memory_dir();
    }
    store_.emplace(Store::open(config.dir, std::move(options)));
  }
  ~PykEngine() override { close(); }

  std::unique_ptr<Session> session() override { return std::make_unique<PykSession>(*store_); }
  std::uint64_t scan(std::uint64_t& bytes) override {
    std::uint64_t count = 0;
    store_->for_each([&](std::string_view k, std::string_view v) {
      ++count;
      consume(k, v, bytes);
    });
    return count;
  }
  std::uint64_t keydir_bytes() override { return store_->stats().keydir_bytes; }
  std::uint64_t disk_bytes() override {
    return backend_ == "memory" ? store_->stats().disk_bytes : directory_bytes(dir_);
  }
  void close() override {
    if (store_) store_->close();
    store_.reset();
  }

 private:
  static std::shared_ptr<MemoryDirectory>& memory_dir() {
    static std::shared_ptr<MemoryDirectory> dir;
    return dir;
  }
  std::string backend_;
  std::optional<Store> store_;
};

}  // namespace

void add_pyk_engines(std::vector<EngineInfo>& out) {
  for (const char* backend : {"file", "mmap", "memory"}) {
    out.push_back({std::string("pyk-") + backend,
                   std::string("backend=") + backend +
                       ", SyncPolicy::none (fillsync: SyncPolicy::always, group commit), "
                       "256 MiB segments, expected_keys = keys",
                   [backend](const EngineConfig& c) -> std::unique_ptr<Engine> {
                     return std::make_unique<PykEngine>(c, backend);
                   }});
  }
}

}  // namespace pyk::bench
