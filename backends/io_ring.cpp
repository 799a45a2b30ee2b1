#include "backends/io_ring.h"

#include <linux/io_uring.h>
#include <pthread.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string_view>
#include <vector>

#include "backends/posix_io.h"
#include "core/error.h"

namespace pyk::io_ring {
namespace {

// Store::get_many reads in windows of 32.
constexpr unsigned kEntries = 32;

// Counts the forks this process came from: a child inherits its parent's
// rings (the fd and the shared mappings) and must not submit to them.
std::atomic<unsigned> forks{0};
void count_fork_in_child() { forks.fetch_add(1, std::memory_order_relaxed); }

class Ring {
 public:
  const unsigned fork_generation = forks.load(std::memory_order_relaxed);

  Ring() {
    const char* setting = std::getenv("PYK_IO_URING");
    if (setting != nullptr && std::string_view(setting) == "0") return;
    io_uring_params p{};
    const long fd = ::syscall(__NR_io_uring_setup, kEntries, &p);
    if (fd < 0) return;
    fd_ = static_cast<int>(fd);
    sq_bytes_ = p.sq_off.array + p.sq_entries * sizeof(unsigned);
    cq_bytes_ = p.cq_off.cqes + p.cq_entries * sizeof(io_uring_cqe);
    const bool single_map = (p.features & IORING_FEAT_SINGLE_MMAP) != 0;
    if (single_map) sq_bytes_ = cq_bytes_ = std::max(sq_bytes_, cq_bytes_);
    sq_ = map(sq_bytes_, IORING_OFF_SQ_RING);
    cq_ = single_map ? sq_ : map(cq_bytes_, IORING_OFF_CQ_RING);
    sqes_bytes_ = p.sq_entries * sizeof(io_uring_sqe);
    sqes_ = static_cast<io_uring_sqe*>(map(sqes_bytes_, IORING_OFF_SQES));
    if (sq_ == nullptr || cq_ == nullptr || sqes_ == nullptr) return;  // the destructor unmaps
    auto* sq = static_cast<char*>(sq_);
    sq_head_ = reinterpret_cast<unsigned*>(sq + p.sq_off.head);
    sq_tail_ = reinterpret_cast<unsigned*>(sq + p.sq_off.tail);
    sq_mask_ = *reinterpret_cast<unsigned*>(sq + p.sq_off.ring_mask);
    sq_array_ = reinterpret_cast<unsigned*>(sq + p.sq_off.array);
    sq_entries_ = p.sq_entries;
    auto* cq = static_cast<char*>(cq_);
    cq_head_ = reinterpret_cast<unsigned*>(cq + p.cq_off.head);
    cq_tail_ = reinterpret_cast<unsigned*>(cq + p.cq_off.tail);
    cq_mask_ = *reinterpret_cast<unsigned*>(cq + p.cq_off.ring_mask);
    cqes_ = reinterpret_cast<io_uring_cqe*>(cq + p.cq_off.cqes);
    ready_ = true;
  }
  ~Ring() {
    if (sqes_ != nullptr) ::munmap(sqes_, sqes_bytes_);
    if (cq_ != nullptr && cq_ != sq_) ::munmap(cq_, cq_bytes_);
    if (sq_ != nullptr) ::munmap(sq_, sq_bytes_);
    if (fd_ >= 0) ::close(fd_);
  }
  Ring(const Ring&) = delete;
  Ring& operator=(const Ring&) = delete;

  bool ready() const { return ready_; }

  void read_batch(int fd, std::span<const SegmentRead> reads, const std::string& path) {
    results_.resize(reads.size());
    for (std::size_t at = 0; at < reads.size(); at += sq_entries_)
      submit_and_wait(fd, reads.subspan(at, std::min<std::size_t>(sq_entries_, reads.size() - at)),
                      std::span(results_).subspan(at), path);
    // Every read has completed (none still writes into a buffer): now errors
    // may be thrown, and short reads finished with pread.
    for (std::size_t i = 0; i < reads.size(); ++i) {
      const int res = results_[i];
      if (res < 0) throw_io_error("read", path, -res);
      const auto got = static_cast<std::size_t>(res);
      if (got < reads[i].out.size())
        posix::pread_exact(fd, reads[i].out.subspan(got), reads[i].offset + got, path);
    }
  }

 private:
  void* map(std::size_t bytes, std::uint64_t offset) const {
    void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd_,
                     static_cast<off_t>(offset));
    return p == MAP_FAILED ? nullptr : p;
  }

  // Queues `reads` (at most sq_entries_), submits them and waits for all of
  // their completions, whose results land in `results`.
  void submit_and_wait(int fd, std::span<const SegmentRead> reads, std::span<int> results,
                       const std::string& path) {
    unsigned tail = std::atomic_ref(*sq_tail_).load(std::memory_order_relaxed);  // this thread's alone
    for (std::size_t i = 0; i < reads.size(); ++i, ++tail) {
      const unsigned slot = tail & sq_mask_;
      io_uring_sqe& sqe = sqes_[slot];
      std::memset(&sqe, 0, sizeof sqe);
      sqe.opcode = IORING_OP_READ;
      sqe.fd = fd;
      sqe.addr = reinterpret_cast<std::uint64_t>(reads[i].out.data());
      sqe.len = static_cast<std::uint32_t>(reads[i].out.size());
      sqe.off = reads[i].offset;
      sqe.user_data = i;
      sq_array_[slot] = slot;
    }
    std::atomic_ref(*sq_tail_).store(tail, std::memory_order_release);
    std::size_t completed = 0;
    while (completed < reads.size()) {
      const unsigned unsubmitted = tail - std::atomic_ref(*sq_head_).load(std::memory_order_acquire);
      const long rc = ::syscall(__NR_io_uring_enter, fd_, unsubmitted, 1, IORING_ENTER_GETEVENTS, nullptr, 0);
      if (rc < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EBUSY) {  // the kernel is short of resources for a moment
          ::sched_yield();
        } else {
          throw_io_error("io_uring_enter", path, errno);  // not seen: every argument is this ring's own
        }
      }
      unsigned head = std::atomic_ref(*cq_head_).load(std::memory_order_relaxed);
      const unsigned cq_tail = std::atomic_ref(*cq_tail_).load(std::memory_order_acquire);
      for (; head != cq_tail; ++head, ++completed) {
        const io_uring_cqe& cqe = cqes_[head & cq_mask_];
        results[cqe.user_data] = cqe.res;
      }
      std::atomic_ref(*cq_head_).store(head, std::memory_order_release);
    }
  }

  int fd_ = -1;
  bool ready_ = false;
  void* sq_ = nullptr;
  void* cq_ = nullptr;
  io_uring_sqe* sqes_ = nullptr;
  std::size_t sq_bytes_ = 0, cq_bytes_ = 0, sqes_bytes_ = 0;
  unsigned* sq_head_ = nullptr;
  unsigned* sq_tail_ = nullptr;
  unsigned* sq_array_ = nullptr;
  unsigned sq_mask_ = 0, sq_entries_ = 0;
  unsigned* cq_head_ = nullptr;
  unsigned* cq_tail_ = nullptr;
  unsigned cq_mask_ = 0;
  io_uring_cqe* cqes_ = nullptr;
  std::vector<int> results_;
};

Ring& this_threads_ring() {
  [[maybe_unused]] static const int registered = ::pthread_atfork(nullptr, nullptr, count_fork_in_child);
  thread_local std::optional<Ring> ring;
  // After a fork, the child's copy is let go (its own references closed and
  // unmapped; the parent's ring is untouched) and a ring of its own set up.
  if (!ring || ring->fork_generation != forks.load(std::memory_order_relaxed)) {
    ring.reset();
    ring.emplace();
  }
  return *ring;
}

}  // namespace

bool available() { return this_threads_ring().ready(); }

bool read_batch(int fd, std::span<const SegmentRead> reads, const std::string& path) {
  Ring& ring = this_threads_ring();
  if (!ring.ready()) return false;
  ring.read_batch(fd, reads, path);
  return true;
}

}  // namespace pyk::io_ring
