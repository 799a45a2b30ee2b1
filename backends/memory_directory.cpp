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
  return state_->files.erase(name) != 0;
}

void MemoryDirectory::rename(const std::string& from, const std::string& to) {
  backend::check_file_name(to);
  std::lock_guard lock(state_->mu);
  std::shared_ptr<MemoryFile> file = find_locked(from, "rename");
  if (from == to) return;
  state_->files.erase(from);
  state_->files[to] = std::move(file);
}

void MemoryDirectory::sync() {}  // RAM: nothing to make durable

std::unique_ptr<DirectoryLock> MemoryDirectory::lock(const std::string& name) {
  backend::check_file_name(name);
  std::lock_guard lock(state_->mu);
  if (state_->locked.contains(name)) {
    throw LockError("another open store in this process holds the store at " + location_,
                    path_of(name));
  }
  if (!state_->files.contains(name)) {
    auto file = std::make_shared<MemoryFile>(path_of(name));
    state_->files.emplace(name, std::move(file));
  }
  state_->locked.insert(name);
  return std::make_unique<Lock>(state_, name);
}

std::string MemoryDirectory::describe() const { return "memory:" + location_; }

std::size_t MemoryDirectory::file_count() const {
  std::lock_guard lock(state_->mu);
  return state_->files.size();
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
