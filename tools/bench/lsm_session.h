// LevelDB and RocksDB share one API shape (DB, Slice, Status, Read/Write
// options, Iterator), so their sessions and scans are written once here.
// `Api` names the library's types and gives its name for messages.
#pragma once

#include <memory>
#include <stdexcept>
#include <string>

#include "tools/bench/engine.h"

namespace pyk::bench {

template <class Api>
void check_lsm(const typename Api::Status& s) {
  if (!s.ok()) throw std::runtime_error(std::string(Api::kName) + ": " + s.ToString());
}

template <class Api>
class LsmSession final : public Session {
 public:
  using Slice = typename Api::Slice;
  LsmSession(typename Api::DB& db, bool sync) : db_(db) { write_.sync = sync; }
  void put(std::string_view k, std::string_view v) override {
    check_lsm<Api>(db_.Put(write_, Slice(k.data(), k.size()), Slice(v.data(), v.size())));
  }
  bool get(std::string_view k, std::string& out) override {
    const auto s = db_.Get(read_, Slice(k.data(), k.size()), &out);
    if (s.IsNotFound()) return false;
    check_lsm<Api>(s);
    return true;
  }
  void erase(std::string_view k) override {
    check_lsm<Api>(db_.Delete(write_, Slice(k.data(), k.size())));
  }

 private:
  typename Api::DB& db_;
  typename Api::WriteOptions write_;
  typename Api::ReadOptions read_;
};

// A full iteration in key order, copying every value out.
template <class Api>
std::uint64_t scan_lsm(typename Api::DB& db, std::uint64_t& bytes) {
  std::unique_ptr<typename Api::Iterator> it(db.NewIterator(typename Api::ReadOptions()));
  std::uint64_t n = 0;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    ++n;
    consume({it->key().data(), it->key().size()}, {it->value().data(), it->value().size()}, bytes);
  }
  check_lsm<Api>(it->status());
  return n;
}

}  // namespace pyk::bench
