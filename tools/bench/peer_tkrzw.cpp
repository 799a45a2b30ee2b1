// tkrzw 1.0 HashDBM (Debian): num_buckets = 2 x keys, bucket index cached in
// memory, in-place updates, default memory-mapped file. fillsync: Set, then
// Synchronize(hard=true) (tkrzw has no per-write sync flag).
#include <tkrzw_dbm_hash.h>

#include <mutex>
#include <stdexcept>

#include "tools/bench/engine.h"

namespace pyk::bench {
namespace {

void check(const tkrzw::Status& s) {
  if (!s.IsOK()) throw std::runtime_error("tkrzw: " + s.GetMessage() + " (" + tkrzw::ToString(s.GetCode()) + ")");
}

class TkrzwSession final : public Session {
 public:
  TkrzwSession(tkrzw::HashDBM& db, bool sync) : db_(db), sync_(sync) {}
  void put(std::string_view k, std::string_view v) override {
    check(db_.Set(k, v));
    if (sync_) check(db_.Synchronize(true));
  }
  bool get(std::string_view k, std::string& out) override {
    const auto s = db_.Get(k, &out);
    if (s == tkrzw::Status::NOT_FOUND_ERROR) return false;
    check(s);
    return true;
  }
  void erase(std::string_view k) override {
    const auto s = db_.Remove(k);
    if (s != tkrzw::Status::NOT_FOUND_ERROR) check(s);
    if (sync_) check(db_.Synchronize(true));
  }

 private:
  tkrzw::HashDBM& db_;
  bool sync_;
};

class TkrzwEngine final : public Engine {
 public:
  explicit TkrzwEngine(const EngineConfig& c) : sync_(c.sync) {
    dir_ = c.dir;
    tkrzw::HashDBM::TuningParameters t;
    t.num_buckets = static_cast<std::int64_t>(std::max<std::uint64_t>(c.num_keys * 2, 1024));
    t.cache_buckets = 1;
    check(db_.OpenAdvanced(dir_ + "/casket.tkh", true, c.fresh ? tkrzw::File::OPEN_TRUNCATE : 0, t));
  }
  ~TkrzwEngine() override { close(); }
  std::unique_ptr<Session> session() override { return std::make_unique<TkrzwSession>(db_, sync_); }
  std::uint64_t scan(std::uint64_t& bytes) override {
    std::uint64_t n = 0;
    check(static_cast<tkrzw::DBM&>(db_).ProcessEach(
        tkrzw::DBM::RecordLambdaType([&](std::string_view k, std::string_view v) -> std::string_view {
          if (k.data() != tkrzw::DBM::RecordProcessor::NOOP.data()) {
            ++n;
            consume(k, v, bytes);
          }
          return tkrzw::DBM::RecordProcessor::NOOP;
        }),
        false));
    return n;
  }
  void close() override {
    if (db_.IsOpen()) check(db_.Close());
  }

 private:
  bool sync_;
  tkrzw::HashDBM db_;
};

}  // namespace

void add_tkrzw(std::vector<EngineInfo>& out) {
  out.push_back({"tkrzw",
                 "HashDBM, num_buckets = 2 x keys, cache_buckets on, in-place updates, default "
                 "mmap file; fillsync: Synchronize(hard=true) after every write",
                 [](const EngineConfig& c) -> std::unique_ptr<Engine> { return std::make_unique<TkrzwEngine>(c); }});
}

}  // namespace pyk::bench
