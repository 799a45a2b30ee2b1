// LevelDB 1.23 (Debian): WAL on, no compression (the values are random
// bytes), 64 MiB write buffer, 10-bit bloom filter, 64 MiB block cache;
// WriteOptions::sync only for fillsync.
#include <leveldb/cache.h>
#include <leveldb/db.h>
#include <leveldb/filter_policy.h>

#include <stdexcept>

#include "tools/bench/engine.h"

namespace pyk::bench {
namespace {

void check(const leveldb::Status& s) {
  if (!s.ok()) throw std::runtime_error("leveldb: " + s.ToString());
}

class LevelSession final : public Session {
 public:
  LevelSession(leveldb::DB& db, bool sync) : db_(db) { write_.sync = sync; }
  void put(std::string_view k, std::string_view v) override {
    check(db_.Put(write_, leveldb::Slice(k.data(), k.size()), leveldb::Slice(v.data(), v.size())));
  }
  bool get(std::string_view k, std::string& out) override {
    const auto s = db_.Get(read_, leveldb::Slice(k.data(), k.size()), &out);
    if (s.IsNotFound()) return false;
    check(s);
    return true;
  }
  void erase(std::string_view k) override { check(db_.Delete(write_, leveldb::Slice(k.data(), k.size()))); }

 private:
  leveldb::DB& db_;
  leveldb::WriteOptions write_;
  leveldb::ReadOptions read_;
};

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
  std::unique_ptr<Session> session() override { return std::make_unique<LevelSession>(*db_, sync_); }
  std::uint64_t scan(std::uint64_t& bytes) override {
    std::unique_ptr<leveldb::Iterator> it(db_->NewIterator(leveldb::ReadOptions()));
    std::uint64_t n = 0;
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      ++n;
      consume({it->key().data(), it->key().size()}, {it->value().data(), it->value().size()}, bytes);
    }
    check(it->status());
    return n;
  }
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
