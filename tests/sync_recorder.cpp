#include "tests/sync_recorder.h"

#include <boost/algorithm/string/predicate.hpp>
#include <stdexcept>

#include "backends/posix_io.h"
#include "core/directory_wrapper.h"
#include "core/format.h"
#include "core/segment_wrapper.h"

namespace pyk::test {
namespace {

SyncRecorder* active_recorder = nullptr;  // the hook is a plain function pointer
thread_local SyncRecorder::Append last_append;

void on_sync(const std::string& path, std::uint64_t bytes) {
  if (active_recorder != nullptr) active_recorder->synced(path, bytes);
}

bool counts(const std::string& name, bool hints) {
  return boost::algorithm::ends_with(name, ".data") ||
         (hints && boost::algorithm::ends_with(name, ".hint"));
}

class RecordingSegment : public SegmentWrapper {
 public:
  RecordingSegment(std::unique_ptr<Segment> target, SyncRecorder& recorder)
      : SegmentWrapper(std::move(target)), recorder_(recorder) {}

  std::uint64_t append(std::span<const std::byte> data) override {
    const std::uint64_t offset = SegmentWrapper::append(data);
    recorder_.appended(describe(), offset + data.size());
    return offset;
  }

 private:
  SyncRecorder& recorder_;
};

class RecordingDirectory : public DirectoryWrapper {
 public:
  RecordingDirectory(std::shared_ptr<Directory> target, SyncRecorder& recorder)
      : DirectoryWrapper(std::move(target)), recorder_(recorder) {}

  std::unique_ptr<Segment> create(const std::string& name, std::uint64_t size_hint) override {
    auto segment = DirectoryWrapper::create(name, size_hint);
    recorder_.created(describe(), name);
    return std::make_unique<RecordingSegment>(std::move(segment), recorder_);
  }
  std::unique_ptr<Segment> open(const std::string& name, OpenMode mode) override {
    return std::make_unique<RecordingSegment>(DirectoryWrapper::open(name, mode), recorder_);
  }
  bool remove(const std::string& name) override {
    recorder_.removing(describe(), name);
    return DirectoryWrapper::remove(name);
  }
  void rename(const std::string& from, const std::string& to) override {
    DirectoryWrapper::rename(from, to);
    recorder_.renamed(describe(), from, to);
  }

 private:
  SyncRecorder& recorder_;
};

}  // namespace

SyncRecorder::SyncRecorder() {
  if (active_recorder != nullptr) throw std::logic_error("one SyncRecorder at a time");
  active_recorder = this;
  posix::set_sync_observer(&on_sync);
}

SyncRecorder::~SyncRecorder() {
  posix::set_sync_observer(nullptr);
  active_recorder = nullptr;
}

std::shared_ptr<Directory> SyncRecorder::open(const std::string& backend,
                                              const std::string& path) {
  auto directory = std::make_shared<RecordingDirectory>(open_directory(backend, path, true), *this);
  std::lock_guard lock(mu_);
  dirs_[directory->describe()];
  return directory;
}

SyncRecorder::Append SyncRecorder::last_append_of_this_thread() { return last_append; }

void SyncRecorder::synced(const std::string& path, std::uint64_t bytes) {
  const auto now = Clock::now();
  std::lock_guard lock(mu_);
  if (auto dir = dirs_.find(path); dir != dirs_.end()) {
    ++dir->second.syncs;
    return;
  }
  File& file = files_[path];
  file.durable = std::max(file.durable, bytes);
  file.syncs.emplace_back(bytes, now);
}

void SyncRecorder::appended(const std::string& path, std::uint64_t end) {
  last_append = {path, end, Clock::now()};
  std::lock_guard lock(mu_);
  File& file = files_[path];
  file.appended = std::max(file.appended, end);
}

void SyncRecorder::created(const std::string& directory, const std::string& name) {
  std::lock_guard lock(mu_);
  Dir& dir = dirs_[directory];
  dir.names[name] = dir.syncs;
}

void SyncRecorder::renamed(const std::string& directory, const std::string& from,
                           const std::string& to) {
  std::lock_guard lock(mu_);
  Dir& dir = dirs_[directory];
  dir.names.erase(from);
  dir.names[to] = dir.syncs;
  // The bytes written under the old name are the file's under the new one.
  if (auto it = files_.find(directory + "/" + from); it != files_.end()) {
    files_[directory + "/" + to] = std::move(it->second);
    files_.erase(directory + "/" + from);
  }
}

void SyncRecorder::removing(const std::string& directory, const std::string& name) {
  std::lock_guard lock(mu_);
  const std::string path = directory + "/" + name;
  const bool held_records = holds_records(path);
  files_.erase(path);  // its own bytes no longer matter
  dirs_[directory].names.erase(name);
  if (counts(name, false) && held_records) {
    // The records of a removed datafile live on in a merge output or in
    // newer writes: those must be durable before it goes.
    const std::string missing = not_durable_locked(false);
    if (!missing.empty()) early_removals_ += "removing " + name + " while:\n" + missing;
  }
}

std::uint64_t SyncRecorder::durable(const std::string& path) const {
  std::lock_guard lock(mu_);
  const auto it = files_.find(path);
  return it == files_.end() ? 0 : it->second.durable;
}

std::optional<SyncRecorder::Clock::time_point> SyncRecorder::durable_since(
    const std::string& path, std::uint64_t end) const {
  std::lock_guard lock(mu_);
  const auto it = files_.find(path);
  if (it == files_.end()) return std::nullopt;
  for (const auto& [bytes, at] : it->second.syncs) {
    if (bytes >= end) return at;
  }
  return std::nullopt;
}

std::string SyncRecorder::not_durable(bool hint_names) const {
  std::lock_guard lock(mu_);
  return not_durable_locked(hint_names);
}

std::string SyncRecorder::not_durable_locked(bool hint_names) const {
  std::string out;
  for (const auto& [path, file] : files_) {
    if (counts(path, false) && holds_records(path) && file.durable < file.appended) {
      out += "  " + path + ": " + std::to_string(file.appended) + " bytes appended, " +
             std::to_string(file.durable) + " synced\n";
    }
  }
  for (const auto& [path, dir] : dirs_) {
    for (const auto& [name, syncs_before] : dir.names) {
      // Removals are not checked: one undone by a crash leaves a file that
      // open copes with.
      if (counts(name, hint_names) && dir.syncs == syncs_before &&
          (!name.ends_with(".data") || holds_records(path + "/" + name))) {
        out += "  " + path + "/" + name + ": created or renamed, directory not synced since\n";
      }
    }
  }
  return out;
}

bool SyncRecorder::holds_records(const std::string& path) const {
  const auto it = files_.find(path);
  return it != files_.end() && it->second.appended > format::kFileHeaderSize;
}

std::string SyncRecorder::early_removals() const {
  std::lock_guard lock(mu_);
  return early_removals_;
}

}  // namespace pyk::test
