#include "tests/power_cut.h"

#include <algorithm>
#include <random>

#include "core/format.h"

namespace pyk::test {
namespace {

using Durability = FaultInjectionDirectory::Durability;

std::string read_all(Directory& directory, const std::string& name) {
  auto segment = directory.open(name, OpenMode::read_only);
  std::string bytes(segment->size(), '\0');
  segment->read_into(0, std::as_writable_bytes(std::span(bytes)));
  return bytes;
}

// Replaces file `name` by one holding `bytes`, synced.
void rewrite(Directory& directory, const std::string& name, std::string_view bytes) {
  directory.remove(name);
  auto segment = directory.create(name, bytes.size() + 1);
  if (!bytes.empty()) segment->append(format::as_bytes(bytes));
  segment->seal();
}

}  // namespace

Durability::State Durability::synced_state(std::uint64_t size) {
  auto state = std::make_shared<FileState>();
  state->synced = size;
  return state;
}

Durability::State Durability::created(const std::string& name) {
  std::lock_guard lock(mu_);
  journal_.push_back({NameOp::create, name, {}, {}});
  return files_[name] = std::make_shared<FileState>();
}

Durability::State Durability::opened(const std::string& name, std::uint64_t size) {
  std::lock_guard lock(mu_);
  State& state = files_[name];
  if (!state) state = synced_state(size);  // on disk before the wrapper saw it
  return state;
}

std::optional<std::string> Durability::durable_bytes(Directory& target, const std::string& name) {
  if (!target.exists(name)) return std::nullopt;
  std::string bytes = read_all(target, name);
  std::lock_guard lock(mu_);
  if (const auto it = files_.find(name); it != files_.end())
    bytes.resize(std::min<std::uint64_t>(bytes.size(), it->second->synced.load()));
  return bytes;
}

bool Durability::remove(Directory& target, const std::string& name) {
  std::optional<std::string> saved = durable_bytes(target, name);
  if (!target.remove(name)) return false;
  std::lock_guard lock(mu_);
  journal_.push_back({NameOp::remove, name, {}, std::move(saved)});
  files_.erase(name);
  return true;
}

void Durability::rename(Directory& target, const std::string& from, const std::string& to) {
  std::optional<std::string> replaced = durable_bytes(target, to);
  target.rename(from, to);
  std::lock_guard lock(mu_);
  journal_.push_back({NameOp::rename, from, to, std::move(replaced)});
  State state = files_[from];
  files_.erase(from);
  files_[to] = state ? state : synced_state(0);
}

void Durability::synced_directory() {
  std::lock_guard lock(mu_);
  journal_.clear();
}

std::size_t Durability::unsynced_name_ops() const {
  std::lock_guard lock(mu_);
  return journal_.size();
}

std::optional<std::uint64_t> Durability::synced_size(const std::string& name) const {
  std::lock_guard lock(mu_);
  const auto it = files_.find(name);
  if (it == files_.end()) return std::nullopt;
  return it->second->synced.load();
}

void Durability::undo(Directory& target, const NameOp& op) {
  switch (op.kind) {
    case NameOp::create:
      target.remove(op.name);
      files_.erase(op.name);
      break;
    case NameOp::remove:
      if (op.saved) {
        rewrite(target, op.name, *op.saved);
        files_[op.name] = synced_state(op.saved->size());
      }
      break;
    case NameOp::rename: {
      if (target.exists(op.to)) {
        target.rename(op.to, op.name);
        const State state = files_[op.to];
        files_[op.name] = state ? state : synced_state(0);
      }
      files_.erase(op.to);
      if (op.saved) {
        rewrite(target, op.to, *op.saved);
        files_[op.to] = synced_state(op.saved->size());
      }
      break;
    }
  }
}

void Durability::power_cut(Directory& target, const PowerCut& cut) {
  std::lock_guard lock(mu_);
  std::mt19937_64 rng(cut.seed);
  // Names first: undo what the journal did not commit, newest first.
  const std::size_t kept = std::min(cut.keep_name_ops, journal_.size());
  for (std::size_t i = journal_.size(); i > kept; --i) undo(target, journal_[i - 1]);
  journal_.clear();
  for (auto& [name, state] : files_) {
    if (!target.exists(name)) continue;
    std::string bytes = read_all(target, name);
    const std::uint64_t size = bytes.size();
    const std::uint64_t synced = std::min(state->synced.load(), size);
    const std::uint64_t keep =
        cut.keep_bytes ? std::clamp(cut.keep_bytes(synced, size), synced, size) : synced;
    bytes.resize(keep);
    bool changed = keep != size;
    auto garble = [&](std::uint64_t from, std::uint64_t to, bool zero) {
      for (std::uint64_t i = from; i < to; ++i) bytes[i] = zero ? '\0' : static_cast<char>(rng());
      changed |= from < to;
    };
    // ext4 writes dirty pages back in any order: a hole, and bytes written
    // after it intact, so damage is followed by valid records.
    if (cut.hole && keep - synced >= 3) {
      const std::uint64_t from = synced + rng() % (keep - synced - 2);
      const std::uint64_t to = from + 1 + rng() % (keep - from - 2);
      garble(from, to, !cut.hole_garbage);
    }
    const std::uint64_t scramble = std::min<std::uint64_t>(cut.scramble, keep - synced);
    garble(keep - scramble, keep, false);
    if (changed) rewrite(target, name, bytes);
    state->synced = keep;
  }
  target.sync();
}

// --- FaultInjectionDirectory's part ----------------------------------------------

void FaultInjectionDirectory::power_cut(const PowerCut& cut) { durability_->power_cut(*target(), cut); }

std::size_t FaultInjectionDirectory::unsynced_name_ops() const {
  return durability_->unsynced_name_ops();
}

std::uint64_t FaultInjectionDirectory::synced_size(const std::string& name) const {
  if (const auto synced = durability_->synced_size(name)) return *synced;
  return target()->open(name, OpenMode::read_only)->size();
}

}  // namespace pyk::test
