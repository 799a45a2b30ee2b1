// RocksDB 7.8 (Debian): WAL on, no compression (random values), 64 MiB
// memtable, 10-bit full bloom filter, 64 MiB block cache, 2 background jobs;
// WriteOptions::sync only for fillsync.
#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>

#include <stdexcept>

#include "tools/bench/engine.h"

namespace pyk::bench {
namespace {

void check(const rocksdb::Status& s) {
  if (!s.ok()) throw std::runtime_error("rocksdb: " + s.ToString());
}

class RocksSession final : public Session {
 public:
  RocksSession(rocksdb::DB& db, bool sync) : db_(db) { write_.sync = sync; }
  void put(std::string_view k, std::string_view v) override {
    check(db_.Put(write_, rocksdb::Slice(k.data(), k.size()), rocksdb::Slice(v.data(), v.size())));
  }
  bool get(std::string_view k, std::string& out) override {
    const auto s = db_.Get(read_, rocksdb::Slice(k.data(), k.size()), &out);
    if (s.IsNotFound()) return false;
    check(s);
    return true;
  }
  void erase(std::string_view k) override { check(db_.Delete(write_, rocksdb::Slice(k.data(), k.size()))); }

 private:
  rocksdb::DB& db_;
  rocksdb::WriteOptions write_;
  rocksdb::ReadOptions read_;
};

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
  std::unique_ptr<Session> session() override { return std::make_unique<RocksSession>(*db_, sync_); }
  std::uint64_t scan(std::uint64_t& bytes) override {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
    std::uint64_t n = 0;
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      ++n;
      consume({it->key().data(), it->key().size()}, {it->value().data(), it->value().size()}, bytes);
    }
    check(it->status());
    return n;
  }
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
