// LevelDB 1.23 (Debian): WAL on, no compression (the values are random
// bytes), 64 MiB write buffer, 10-bit bloom filter, 64 MiB block cache;
// WriteOptions::sync only for fillsync.
#include <leveldb/cache.h>
#include <leveldb/db.h>
#include <leveldb/filter_policy.h>

#include <stdexcept>

#include "tools/bench/engine.h"
#include "tools/bench/lsm_session.h"

namespace pyk::bench {
namespace {

struct LevelApi {
  static constexpr const char* kName = "leveldb";
  using DB = leveldb::DB;
  using Slice = leveldb::Slice;
  using Status = leveldb::Status;
  using ReadOptions = leveldb::ReadOptions;
  using WriteOptions = leveldb::WriteOptions;
  using Iterator = leveldb::Iterator;
};
void check(const leveldb::Status& s) { check_lsm<LevelApi>(s); }

class LevelEngine final : public Engine {
 public:
  explicit LevelEngine(const EngineConfig& c) : sync_(c.sync) {
    dir_ = c.dir;
    cache_.reset(leveldb::NewLRUCache(64 << 20));
    filter_.reset(leveldb::NewBloomFilterPolicy(10));
    leveldb::Options o;
    o.create_if_missing = true;
    o.compression = leveldb::kNoCompression;
    o.write_buffer_size = 64 << 20;
    o.block_cache = cache_.get();
    o.filter_policy = filter_.get();
    leveldb::DB* db = nullptr;
    check(leveldb::DB::Open(o, dir_, &db));
    db_.reset(db);
  }
  ~LevelEngine() override { close(); }
  std::unique_ptr<Session> session() override { return std::make_unique<LsmSession<LevelApi>>(*db_, sync_); }
  std::uint64_t scan(std::uint64_t& bytes) override { return scan_lsm<LevelApi>(*db_, bytes); }
  void close() override { db_.reset(); }

 private:
  bool sync_;
  std::unique_ptr<leveldb::Cache> cache_;
  std::unique_ptr<const leveldb::FilterPolicy> filter_;
  std::unique_ptr<leveldb::DB> db_;  // declared last: closed before cache and filter
};

}  // namespace

void add_leveldb(std::vector<EngineInfo>& out) {
  out.push_back({"leveldb",
                 "WAL on, kNoCompression (values are random bytes), write_buffer_size 64 MiB, "
                 "10-bit bloom filter, 64 MiB LRU block cache, WriteOptions::sync = true only for fillsync",
                 [](const EngineConfig& c) -> std::unique_ptr<Engine> { return std::make_unique<LevelEngine>(c); }});
}

}  // namespace pyk::bench
