// DirectoryWrapper: a Directory that forwards every call to another one (cf.
// leveldb's EnvWrapper), so a wrapper (fault injection, tracing, ...)
// overrides only what it changes and cannot miss a method: one added to
// Directory makes this class abstract until it forwards it too. Segments are
// passed through unwrapped; wrap them with SegmentWrapper in create()/open().
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "directory.h"

namespace pyk {

class DirectoryWrapper : public Directory {
 public:
  // REQUIRES: target != nullptr.
  explicit DirectoryWrapper(std::shared_ptr<Directory> target) : target_(std::move(target)) {}

  const std::shared_ptr<Directory>& target() const { return target_; }

  std::vector<std::string> list() const override { return target_->list(); }
  bool exists(const std::string& name) const override { return target_->exists(name); }
  std::unique_ptr<Segment> create(const std::string& name, std::uint64_t size_hint) override {
    return target_->create(name, size_hint);
  }
  std::unique_ptr<Segment> open(const std::string& name, OpenMode mode) override {
    return target_->open(name, mode);
  }
  bool remove(const std::string& name) override { return target_->remove(name); }
  void rename(const std::string& from, const std::string& to) override {
    target_->rename(from, to);
  }
  void sync() override { target_->sync(); }
  std::unique_ptr<DirectoryLock> lock(const std::string& name) override {
    return target_->lock(name);
  }
  std::string_view backend() const override { return target_->backend(); }
  std::string describe() const override { return target_->describe(); }

 private:
  const std::shared_ptr<Directory> target_;
};

static_assert(!std::is_abstract_v<DirectoryWrapper>,
              "DirectoryWrapper must forward every Directory call");

}  // namespace pyk
