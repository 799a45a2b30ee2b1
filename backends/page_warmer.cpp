#include "backends/page_warmer.h"

#include <unistd.h>

#include <algorithm>

namespace pyk {

namespace {

std::uint64_t page_size() {
  static const auto size = static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
  return size;
}

}  // namespace

PageWarmer::PageWarmer(const std::atomic<const std::byte*>& base, std::uint64_t from) : base_(base) {
  from -= from % page_size();
  requested_ = target_ = done_ = from;
}

void PageWarmer::advance(std::uint64_t end) {
  if (end < requested_ + kChunk) return;
  set_target(end);
}

void PageWarmer::finish(std::uint64_t end) {
  {
    std::lock_guard lock(mu_);
    finished_ = true;
  }
  set_target(end);
}

void PageWarmer::set_target(std::uint64_t end) {
  end -= end % page_size();  // whole pages: the last one may still grow
  requested_ = std::max(requested_, end);
  bool work;
  {
    std::lock_guard lock(mu_);
    target_ = std::max(target_, end);
    work = done_ < target_;
  }
  if (thread_.joinable()) {
    wake_.notify_one();  // also after finish() with nothing left: the thread then ends
  } else if (work) {
    thread_ = std::jthread([this](std::stop_token stop) { run(stop); });
  }
}

void PageWarmer::cut(std::uint64_t end) {
  end -= end % page_size();
  std::scoped_lock lock(touching_, mu_);
  target_ = std::min(target_, end);
  done_ = std::min(done_, end);
  requested_ = std::min(requested_, end);
}

void PageWarmer::run(std::stop_token stop) {
  for (;;) {
    {
      std::unique_lock lock(mu_);
      if (!wake_.wait(lock, stop, [&] { return done_ < target_ || finished_; })) return;
      if (done_ >= target_) return;  // finished, and all warm
    }
    // target_ shrinks only under touching_ (cut), so the chunk stays in the file.
    std::lock_guard touching(touching_);
    std::uint64_t from, to;
    {
      std::lock_guard lock(mu_);
      from = done_;
      to = std::min(target_, from + kChunk);
    }
    const volatile std::byte* pages = base_.load(std::memory_order_acquire);
    for (std::uint64_t at = from; at < to; at += page_size()) (void)pages[at];
    std::lock_guard lock(mu_);
    done_ = std::max(done_, to);
  }
}

}  // namespace pyk
