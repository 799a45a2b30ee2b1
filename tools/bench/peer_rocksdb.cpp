// RocksDB 7.8 (Debian): WAL on, no compression (random values), 64 MiB
// memtable, 10-bit full bloom filter, 64 MiB block cache, 2 background jobs;
// WriteOptions::sync only for fillsync.
#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>

#include <stdexcept>

#include "tools/bench/engine.h"
#include "tools/bench/lsm_session.h"

namespace pyk::bench {
namespace {

struct RocksApi {
  static constexpr const char* kName = "rocksdb";
  using DB = rocksdb::DB;
  using Slice = rocksdb::Slice;
  using Status = rocksdb::Status;
  using ReadOptions = rocksdb::ReadOptions;
  using WriteOptions = rocksdb::WriteOptions;
  using Iterator = rocksdb::Iterator;
};
void check(const rocksdb::Status& s) { check_lsm<RocksApi>(s); }

class RocksEngine final : public Engine {
 public:
  explicit RocksEngine(const EngineConfig& c) : sync_(c.sync) {
    dir_ = c.dir;
    rocksdb::Options o;
    o.create_if_missing = true;
    o.IncreaseParallelism(2);
    o.compression = rocksdb::kNoCompression;
    o.write_buffer_size = 64 << 20;
    rocksdb::BlockBasedTableOptions t;
    t.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
    t.block_cache = rocksdb::NewLRUCache(64 << 20);
    o.table_factory.reset(rocksdb::NewBlockBasedTableFactory(t));
    rocksdb::DB* db = nullptr;
    check(rocksdb::DB::Open(o, dir_, &db));
    db_.reset(db);
  }
  ~RocksEngine() override { close(); }
  std::unique_ptr<Session> session() override { return std::make_unique<LsmSession<RocksApi>>(*db_, sync_); }
  std::uint64_t scan(std::uint64_t& bytes) override { return scan_lsm<RocksApi>(*db_, bytes); }
  void close() override {
    if (db_) check(db_->Close());
    db_.reset();
  }

 private:
  bool sync_;
  std::unique_ptr<rocksdb::DB> db_;
};

}  // namespace

void add_rocksdb(std::vector<EngineInfo>& out) {
  out.push_back({"rocksdb",
                 "WAL on, kNoCompression (values are random bytes), write_buffer_size 64 MiB, "
                 "10-bit bloom filter, 64 MiB LRU block cache, IncreaseParallelism(2), "
                 "WriteOptions::sync = true only for fillsync",
                 [](const EngineConfig& c) -> std::unique_ptr<Engine> { return std::make_unique<RocksEngine>(c); }});
}

}  // namespace pyk::bench
