// WriteBatch: puts and erases applied by Store::write as one atomic unit.
// Readers see all of a batch or none of it, and so does recovery after a
// crash: on disk a batch is a batch-header record (record count and byte
// length) followed by its records, and a batch cut short is dropped whole.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "error.h"

namespace pyk {

class WriteBatch {
 public:
  void put(std::string_view key, std::string_view value) { ops_.push_back({key, value, false, {}}); }
  // ttl > 0, counted from when the batch is written; throws InvalidArgument otherwise.
  void put(std::string_view key, std::string_view value, std::chrono::microseconds ttl) {
    if (ttl.count() <= 0) throw InvalidArgument("ttl must be positive");
    ops_.push_back({key, value, false, ttl});
  }
  void erase(std::string_view key) { ops_.push_back({key, {}, true, {}}); }

  std::size_t size() const { return ops_.size(); }
  bool empty() const { return ops_.empty(); }
  void clear() { ops_.clear(); }

  struct Op {
    std::string key;
    std::string value;
    bool erase = false;
    std::chrono::microseconds ttl{0};  // 0 = no expiry
    Op(std::string_view k, std::string_view v, bool e, std::chrono::microseconds t)
        : key(k), value(v), erase(e), ttl(t) {}
  };
  const std::vector<Op>& ops() const { return ops_; }

 private:
  std::vector<Op> ops_;
};

}  // namespace pyk
