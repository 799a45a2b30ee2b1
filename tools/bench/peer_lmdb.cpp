// LMDB 0.9.24 (Debian): one write transaction per operation (as every engine
// here does one operation per call); MDB_NOSYNC | MDB_WRITEMAP unless the
// workload syncs every write; map size sized for the data; readers reuse a
// per-session read transaction (mdb_txn_reset / mdb_txn_renew).
#include <lmdb.h>

#include <stdexcept>
#include <string>

#include "tools/bench/engine.h"

namespace pyk::bench {
namespace {

void check(int rc, const char* what) {
  if (rc != 0) throw std::runtime_error(std::string("lmdb ") + what + ": " + mdb_strerror(rc));
}

MDB_val val(std::string_view s) { return MDB_val{s.size(), const_cast<char*>(s.data())}; }

class LmdbSession final : public Session {
 public:
  LmdbSession(MDB_env* env, MDB_dbi dbi) : env_(env), dbi_(dbi) {}
  ~LmdbSession() override {
    if (read_) mdb_txn_abort(read_);
  }
  void put(std::string_view k, std::string_view v) override {
    MDB_txn* txn = nullptr;
    check(mdb_txn_begin(env_, nullptr, 0, &txn), "txn_begin");
    MDB_val key = val(k), value = val(v);
    const int rc = mdb_put(txn, dbi_, &key, &value, 0);
    if (rc != 0) mdb_txn_abort(txn);
    check(rc, "put");
    check(mdb_txn_commit(txn), "commit");
  }
  bool get(std::string_view k, std::string& out) override {
    if (read_) {
      check(mdb_txn_renew(read_), "txn_renew");
    } else {
      check(mdb_txn_begin(env_, nullptr, MDB_RDONLY, &read_), "txn_begin");
    }
    MDB_val key = val(k), value;
    const int rc = mdb_get(read_, dbi_, &key, &value);
    if (rc == 0) out.assign(static_cast<const char*>(value.mv_data), value.mv_size);
    mdb_txn_reset(read_);
    if (rc == MDB_NOTFOUND) return false;
    check(rc, "get");
    return true;
  }
  void erase(std::string_view k) override {
    MDB_txn* txn = nullptr;
    check(mdb_txn_begin(env_, nullptr, 0, &txn), "txn_begin");
    MDB_val key = val(k);
    const int rc = mdb_del(txn, dbi_, &key, nullptr);
    if (rc != 0 && rc != MDB_NOTFOUND) {
      mdb_txn_abort(txn);
      check(rc, "del");
    }
    check(mdb_txn_commit(txn), "commit");
  }

 private:
  MDB_env* env_;
  MDB_dbi dbi_;
  MDB_txn* read_ = nullptr;
};

class LmdbEngine final : public Engine {
 public:
  explicit LmdbEngine(const EngineConfig& c) {
    dir_ = c.dir;
    check(mdb_env_create(&env_), "env_create");
    // Room for every record 3 times over (B-tree pages are rarely full, and
    // overwrites need free pages until old readers let go), at least 1 GiB.
    const std::size_t need = c.num_keys * (c.value_size + 16 + 64) * 3;
    check(mdb_env_set_mapsize(env_, std::max<std::size_t>(need, 1ull << 30)), "set_mapsize");
    check(mdb_env_set_maxreaders(env_, 126), "set_maxreaders");
    unsigned flags = MDB_NOTLS | MDB_NORDAHEAD;
    if (!c.sync) flags |= MDB_NOSYNC | MDB_WRITEMAP;
    check(mdb_env_open(env_, dir_.c_str(), flags, 0644), "env_open");
    MDB_txn* txn = nullptr;
    check(mdb_txn_begin(env_, nullptr, 0, &txn), "txn_begin");
    check(mdb_dbi_open(txn, nullptr, 0, &dbi_), "dbi_open");
    check(mdb_txn_commit(txn), "commit");
  }
  ~LmdbEngine() override { close(); }
  std::unique_ptr<Session> session() override { return std::make_unique<LmdbSession>(env_, dbi_); }
  std::uint64_t scan(std::uint64_t& bytes) override {
    MDB_txn* txn = nullptr;
    check(mdb_txn_begin(env_, nullptr, MDB_RDONLY, &txn), "txn_begin");
    MDB_cursor* cursor = nullptr;
    check(mdb_cursor_open(txn, dbi_, &cursor), "cursor_open");
    MDB_val key, value;
    std::uint64_t n = 0;
    for (int rc = mdb_cursor_get(cursor, &key, &value, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cursor, &key, &value, MDB_NEXT)) {
      ++n;
      consume({static_cast<const char*>(key.mv_data), key.mv_size},
              {static_cast<const char*>(value.mv_data), value.mv_size}, bytes);
    }
    mdb_cursor_close(cursor);
    mdb_txn_abort(txn);
    return n;
  }
  // The data file is sparse up to the map size: count allocated pages.
  std::uint64_t disk_bytes() override {
    MDB_stat st;
    MDB_envinfo info;
    check(mdb_env_stat(env_, &st), "env_stat");
    check(mdb_env_info(env_, &info), "env_info");
    return (info.me_last_pgno + 1) * static_cast<std::uint64_t>(st.ms_psize);
  }
  void close() override {
    if (env_) {
      mdb_env_sync(env_, 1);
      mdb_env_close(env_);
    }
    env_ = nullptr;
  }

 private:
  MDB_env* env_ = nullptr;
  MDB_dbi dbi_ = 0;
};

}  // namespace

void add_lmdb(std::vector<EngineInfo>& out) {
  out.push_back({"lmdb",
                 "one write txn per operation; MDB_NOSYNC | MDB_WRITEMAP (fillsync: neither, so "
                 "every commit fsyncs); map size 3x the data (>= 1 GiB); MDB_NOTLS | MDB_NORDAHEAD; "
                 "read txns reused with mdb_txn_reset/renew",
                 [](const EngineConfig& c) -> std::unique_ptr<Engine> { return std::make_unique<LmdbEngine>(c); }});
}

}  // namespace pyk::bench
