// Batched reads through io_uring: many preads of one file in one system
// call. On this project's VM a pread costs ~2 µs of which most is the
// system call itself; 16 reads submitted together cost ~0.8 µs each
// (measured with page-cached data). Raw system calls, no liburing: nothing
// more to link for programs that embed pyk.
//
// Each thread gets its own small ring, set up on its first batch and
// closed when the thread exits; a forked child sets up its own rather than
// share its parent's. Where io_uring is missing or refused (old
// kernels, seccomp filters such as Docker's default, io_uring_disabled, or
// PYK_IO_URING=0 in the environment when the thread sets up its ring),
// read_batch returns false and the caller reads one range at a time.
#pragma once

#include <span>
#include <string>

#include "core/segment.h"

namespace pyk::io_ring {

// Reads each of `reads` from `fd` in full, as posix::pread_exact would
// (IoError naming `path` on a failed read, CorruptionError where the file
// ends early). False, having read nothing, if this thread has no ring.
bool read_batch(int fd, std::span<const SegmentRead> reads, const std::string& path);

// Whether this thread's batches go through io_uring (sets up its ring).
bool available();

}  // namespace pyk::io_ring
