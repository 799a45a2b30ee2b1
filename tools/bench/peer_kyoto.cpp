// Kyoto Cabinet 1.2.79 HashDB (Debian): bnum = 2 x keys, memory map sized for
// the data, no implicit transactions; fillsync opens with OAUTOSYNC (every
// update synchronised with the device).
#include <kchashdb.h>

#include <stdexcept>

#include "tools/bench/engine.h"

namespace pyk::bench {
namespace {

class KyotoSession final : public Session {
 public:
  KyotoSession(kyotocabinet::HashDB& db, std::size_t value_size) : db_(db), max_(value_size) {}
  void put(std::string_view k, std::string_view v) override {
    if (!db_.set(k.data(), k.size(), v.data(), v.size())) fail("set");
  }
  bool get(std::string_view k, std::string& out) override {
    out.resize(max_);
    const std::int32_t n = db_.get(k.data(), k.size(), out.data(), out.size());
    if (n < 0) {
      if (db_.error().code() == kyotocabinet::BasicDB::Error::NOREC) return false;
      fail("get");
    }
    out.resize(static_cast<std::size_t>(n));
    return true;
  }
  void erase(std::string_view k) override {
    if (!db_.remove(k.data(), k.size()) &&
        db_.error().code() != kyotocabinet::BasicDB::Error::NOREC)
      fail("remove");
  }

 private:
  void fail(const char* what) {
    throw std::runtime_error(std::string("kyoto ") + what + ": " + db_.error().name());
  }
  kyotocabinet::HashDB& db_;
  std::size_t max_;
};

class KyotoEngine final : public Engine {
 public:
  explicit KyotoEngine(const EngineConfig& c) : value_size_(c.value_size) {
    dir_ = c.dir;
    db_.tune_buckets(static_cast<std::int64_t>(std::max<std::uint64_t>(c.num_keys * 2, 1024)));
    db_.tune_map(static_cast<std::int64_t>(c.num_keys * (c.value_size + 64) * 2));
    std::uint32_t mode = kyotocabinet::HashDB::OWRITER | kyotocabinet::HashDB::OCREATE;
    if (c.fresh) mode |= kyotocabinet::HashDB::OTRUNCATE;
    if (c.sync) mode |= kyotocabinet::HashDB::OAUTOSYNC;
    if (!db_.open(dir_ + "/casket.kch", mode))
      throw std::runtime_error(std::string("kyoto open: ") + db_.error().name());
    open_ = true;
  }
  ~KyotoEngine() override { close(); }
  std::unique_ptr<Session> session() override { return std::make_unique<KyotoSession>(db_, value_size_); }
  std::uint64_t scan(std::uint64_t& bytes) override {
    struct Counter : kyotocabinet::DB::Visitor {
      std::uint64_t n = 0, bytes = 0;
      const char* visit_full(const char* kbuf, size_t ksiz, const char* vbuf, size_t vsiz, size_t*) override {
        ++n;
        consume({kbuf, ksiz}, {vbuf, vsiz}, bytes);
        return NOP;
      }
    } counter;
    if (!db_.iterate(&counter, false)) throw std::runtime_error("kyoto iterate failed");
    bytes += counter.bytes;
    return counter.n;
  }
  void close() override {
    if (open_) db_.close();
    open_ = false;
  }

 private:
  std::size_t value_size_;
  kyotocabinet::HashDB db_;
  bool open_ = false;
};

}  // namespace

void add_kyoto(std::vector<EngineInfo>& out) {
  out.push_back({"kyoto",
                 "HashDB, tune_buckets 2 x keys, tune_map 2 x data size, no OAUTOTRAN; fillsync: "
                 "OAUTOSYNC (each update synchronised with the device)",
                 [](const EngineConfig& c) -> std::unique_ptr<Engine> { return std::make_unique<KyotoEngine>(c); }});
}

}  // namespace pyk::bench
