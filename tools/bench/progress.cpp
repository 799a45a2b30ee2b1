#include "tools/bench/progress.h"

#include <unistd.h>

#include <cstdio>

namespace pyk::bench {

Progress::Progress(std::string label, std::uint64_t total)
    : label_(std::move(label)), total_(total ? total : 1), enabled_(isatty(STDOUT_FILENO) != 0) {
  if (enabled_) draw(0);
}

Progress::~Progress() {
  if (enabled_) std::fprintf(stderr, "\r\033[K");  // erase the bar
}

void Progress::draw(std::uint64_t done) {
  next_draw_.store(done + total_ / 100 + 1, std::memory_order_relaxed);
  constexpr int kWidth = 30;
  const int filled = static_cast<int>(kWidth * (done > total_ ? total_ : done) / total_);
  std::fprintf(stderr, "\r\033[K%-36s [%.*s%*s] %3d%%", label_.c_str(), filled,
               "##############################", kWidth - filled, "",
               static_cast<int>(100 * (done > total_ ? total_ : done) / total_));
  std::fflush(stderr);
}

}  // namespace pyk::bench
