// SegmentWrapper: a Segment that forwards every call to another one (cf.
// leveldb's EnvWrapper), so a wrapper (fault injection, tracing, ...)
// overrides only what it changes and cannot miss a method: one added to
// Segment makes this class abstract until it forwards it too.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <type_traits>
#include <utility>

#include "segment.h"

namespace pyk {

class SegmentWrapper : public Segment {
 public:
  // REQUIRES: target != nullptr.
  explicit SegmentWrapper(std::unique_ptr<Segment> target) : target_(std::move(target)) {}

  // The wrapped segment; lives as long as this wrapper.
  Segment& target() const { return *target_; }

  std::uint64_t append(std::span<const std::byte> data) override { return target_->append(data); }
  std::span<const std::byte> read(std::uint64_t offset, std::size_t n,
                                  std::span<std::byte> scratch) const override {
    return target_->read(offset, n, scratch);
  }
  PinnedBytes pin(std::uint64_t offset, std::size_t n) const override {
    return target_->pin(offset, n);
  }
  void prefetch(std::uint64_t offset, std::size_t n) const noexcept override {
    target_->prefetch(offset, n);
  }
  bool zero_copy() const override { return target_->zero_copy(); }
  std::uint64_t size() const override { return target_->size(); }
  void sync() override { target_->sync(); }
  void truncate(std::uint64_t new_size) override { target_->truncate(new_size); }
  void seal() override { target_->seal(); }
  void seal_unsynced() override { target_->seal_unsynced(); }
  bool sealed() const override { return target_->sealed(); }
  const std::string& name() const override { return target_->name(); }
  std::string describe() const override { return target_->describe(); }

 private:
  const std::unique_ptr<Segment> target_;
};

static_assert(!std::is_abstract_v<SegmentWrapper>, "SegmentWrapper must forward every Segment call");

}  // namespace pyk
