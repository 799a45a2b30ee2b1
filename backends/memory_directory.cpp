#include "backends/memory_directory.h"

#include <algorithm>
#include <cerrno>

#include "backends/checks.h"
#include "core/error.h"

namespace pyk {

class MemoryDirectory::Lock final : public DirectoryLock {
 public:
  Lock(std::shared_ptr<State> state, std::string name)
      : state_(std::move(state)), name_(std::move(name)) {}
  ~Lock() override {
    std::lock_guard lock(state_->mu);
    state_->locked.erase(name_);
  }

 private:
  const std::shared_ptr<State> state_;
  const std::string name_;
};

MemoryDirectory::MemoryDirectory(std::string location)
    : location_(std::move(location)), state_(std::make_shared<State>()) {}

std::shared_ptr<MemoryFile> MemoryDirectory::find_locked(const std::string& name,
                                                         const char* operation) const {
  backend::check_file_name(name);
  auto it = state_->files.find(name);
  if (it == state_->files.end()) throw_io_error(operation, path_of(name), ENOENT);
  return it->second;
}

std::vector<std::string> MemoryDirectory::list() const {
  std::lock_guard lock(state_->mu);
  std::vector<std::string> names;
  names.reserve(state_->files.size());
  for (const auto& entry : state_->files) names.push_back(entry.first);
  return names;
}

bool MemoryDirectory::exists(const std::string& name) const {
  backend::check_file_name(name);
  std::lock_guard lock(state_->mu);
  return state_->files.contains(name);
}

std::unique_ptr<Segment> MemoryDirectory::create(const std::string& name,
                                                 std::uint64_t /*size_hint*/) {
  backend::check_file_name(name);
  std::lock_guard lock(state_->mu);
  auto [it, inserted] = state_->files.try_emplace(name);
  if (!inserted) throw_io_error("create", path_of(name), EEXIST);
  it->second = std::make_shared<MemoryFile>(path_of(name));
  state_->journal.push_back({name, {}, it->second});
  return std::make_unique<MemorySegment>(it->second, name, true);
}

std::unique_ptr<Segment> MemoryDirectory::open(const std::string& name, OpenMode mode) {
  std::lock_guard lock(state_->mu);
  return std::make_unique<MemorySegment>(find_locked(name, "open"), name,
                                         mode == OpenMode::append);
}

bool MemoryDirectory::remove(const std::string& name) {
  backend::check_file_name(name);
  std::lock_guard lock(state_->mu);
  if (state_->files.erase(name) == 0) return false;
  state_->journal.push_back({name, {}, nullptr});
  return true;
}

void MemoryDirectory::rename(const std::string& from, const std::string& to) {
  backend::check_file_name(to);
  std::lock_guard lock(state_->mu);
  std::shared_ptr<MemoryFile> file = find_locked(from, "rename");
  if (from == to) return;
  state_->files.erase(from);
  state_->files[to] = std::move(file);
  state_->journal.push_back({from, to, nullptr});
}

void MemoryDirectory::sync() {
  std::lock_guard lock(state_->mu);
  state_->durable = state_->files;
  state_->journal.clear();
}

std::unique_ptr<DirectoryLock> MemoryDirectory::lock(const std::string& name) {
  backend::check_file_name(name);
  std::lock_guard lock(state_->mu);
  if (state_->locked.contains(name)) {
    throw LockError("another open store in this process holds the store at " + location_,
                    path_of(name));
  }
  if (!state_->files.contains(name)) {
    auto file = std::make_shared<MemoryFile>(path_of(name));
    state_->files.emplace(name, file);
    state_->journal.push_back({name, {}, std::move(file)});
  }
  state_->locked.insert(name);
  return std::make_unique<Lock>(state_, name);
}

std::string MemoryDirectory::describe() const { return "memory:" + location_; }

void MemoryDirectory::drop_unsynced() {
  std::lock_guard lock(state_->mu);
  for (auto& entry : state_->files) entry.second->drop_unsynced();
}

void MemoryDirectory::power_cut(const PowerCut& cut) {
  std::lock_guard lock(state_->mu);
  if (cut.keep_name_ops < state_->journal.size()) {
    Files files = state_->durable;
    for (std::size_t i = 0; i < cut.keep_name_ops; ++i) {
      const NameOp& op = state_->journal[i];
      if (!op.to.empty()) {  // rename
        auto it = files.find(op.name);
        if (it == files.end()) continue;
        auto file = it->second;
        files.erase(it);
        files[op.to] = std::move(file);
      } else if (op.file) {
        files[op.name] = op.file;
      } else {
        files.erase(op.name);
      }
    }
    state_->files = std::move(files);
  }
  state_->durable = state_->files;
  state_->journal.clear();
  std::uint64_t seed = cut.seed;
  for (auto& entry : state_->files) {
    MemoryFile& file = *entry.second;
    const std::uint64_t synced = file.synced_size();
    const std::uint64_t size = file.size();
    std::uint64_t keep = cut.keep_bytes ? cut.keep_bytes(synced, size) : synced;
    keep = std::clamp(keep, synced, size);
    file.power_cut(keep, std::min<std::uint64_t>(cut.scramble, keep - synced), seed++);
  }
}

std::size_t MemoryDirectory::unsynced_name_ops() const {
  std::lock_guard lock(state_->mu);
  return state_->journal.size();
}

std::size_t MemoryDirectory::file_count() const {
  std::lock_guard lock(state_->mu);
  return state_->files.size();
}

std::uint64_t MemoryDirectory::synced_size(const std::string& name) const {
  std::lock_guard lock(state_->mu);
  return find_locked(name, "stat")->synced_size();
}

std::shared_ptr<MemoryDirectory> open_memory_directory(const std::string& path, bool create) {
  static std::mutex mu;
  static std::map<std::string, std::shared_ptr<MemoryDirectory>> directories;  // GUARDED_BY(mu)
  std::lock_guard lock(mu);
  auto it = directories.find(path);
  if (it != directories.end()) return it->second;
  if (!create) throw_io_error("open directory", path, ENOENT);
  auto directory = std::make_shared<MemoryDirectory>(path);
  directories.emplace(path, directory);
  return directory;
}

}  // namespace pyk
