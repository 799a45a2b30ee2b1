// pyk-bench-io: what this machine's disk and page cache allow, measured
// without any engine, for the pyk-bench goals they bound. Prints numbers; it
// is not a test.
//
//   pyk-bench-io --dir /tmp/pyk-bench
//
// 1. A durable 148-byte write (pwrite, then fdatasync), one after another:
//    at the end of a growing file (a log such as LevelDB's: each sync also
//    commits the file's new size), and into zeros written ahead (a pyk
//    segment, AppendBuffer::zero_ahead: only the data block is written),
//    and, for comparison, the record's 4 KiB block rewritten with O_DIRECT
//    into zeros (no page cache; as fast only where the disk honours FUA).
//    Alternated, round by round. The first two's ratio is about the most
//    one thread of durable writes can gain over a growing log (fillsync1).
// 2. Buffered 256 KiB writes into one fresh file, timed per step of 400 MB
//    (fill and overwrite at 100k x 4 KiB each write one step): the rate at
//    which the kernel takes appended data while its write-back catches up.
#include <fcntl.h>

#include <algorithm>
#include <boost/program_options.hpp>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>
#include <new>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "backends/posix_io.h"
#include "core/error.h"
#include "tools/bench/stopwatch.h"

namespace po = boost::program_options;
namespace fs = std::filesystem;

namespace {

using pyk::bench::Clock;
using pyk::bench::seconds_since;

constexpr std::size_t kRecordBytes = 148;  // a 16-byte key and 100-byte value, with its header

enum class Target { growing_file, zeros, zeros_direct };

// Microseconds per durable write of `count` records into `target`; none
// if the file system refuses O_DIRECT (tmpfs, say).
std::optional<double> durable_write_micros(const std::string& path, int count, Target target) {
  constexpr std::size_t kBlock = 4096;
  fs::remove(path);
  pyk::posix::Fd fd = pyk::posix::open_file(path, O_RDWR | O_CREAT | O_TRUNC);
  if (target != Target::growing_file) {
    const std::vector<std::byte> zeros(kRecordBytes * count + kBlock);
    pyk::posix::append_at(fd.get(), zeros, 0, path);
    pyk::posix::fdatasync_fd(fd.get(), path);
  }
  if (target == Target::zeros_direct) {
    try {
      fd = pyk::posix::open_file(path, O_RDWR | O_DIRECT);
    } catch (const pyk::IoError& e) {
      if (e.error_code() != EINVAL) throw;
      fs::remove(path);
      return std::nullopt;
    }
  }
  // O_DIRECT wants an aligned buffer: the block that holds the record.
  const std::unique_ptr<std::byte, decltype(&std::free)> buffer(
      static_cast<std::byte*>(std::aligned_alloc(kBlock, kBlock)), &std::free);
  if (!buffer) throw std::bad_alloc();
  std::byte* const block = buffer.get();
  std::fill(block, block + kBlock, std::byte{'r'});
  const auto start = Clock::now();
  for (int i = 0; i < count; ++i) {
    const std::uint64_t offset = std::uint64_t{kRecordBytes} * i;
    if (target == Target::zeros_direct) {
      const std::uint64_t block_start = offset / kBlock * kBlock;
      pyk::posix::append_at(fd.get(), std::span(block, kBlock), block_start, path);
    } else {
      pyk::posix::append_at(fd.get(), std::span(block, kRecordBytes), offset, path);
    }
    pyk::posix::fdatasync_fd(fd.get(), path);
  }
  const double micros = seconds_since(start) * 1e6 / count;
  fs::remove(path);
  return micros;
}

void durable_writes(const std::string& dir, int rounds, int count) {
  std::cout << "durable 148-byte writes (pwrite + fdatasync), " << count
            << " per run, alternated:\n";
  const std::string path = dir + "/durable.dat";
  for (int round = 1; round <= rounds; ++round) {
    const double growing = *durable_write_micros(path, count, Target::growing_file);
    const double zeroed = *durable_write_micros(path, count, Target::zeros);
    const std::optional<double> direct = durable_write_micros(path, count, Target::zeros_direct);
    std::printf("  round %d: growing file %.1f us, into zeros %.1f us (%.2fx), ", round, growing,
                zeroed, growing / zeroed);
    if (direct) {
      std::printf("O_DIRECT into zeros %.1f us\n", *direct);
    } else {
      std::printf("O_DIRECT refused by the file system\n");
    }
  }
}

void buffered_writes(const std::string& dir, int steps) {
  constexpr std::size_t kChunk = 256 * 1024;
  constexpr std::uint64_t kStep = 400'000'000;
  std::cout << "buffered 256 KiB writes into one fresh file, per " << kStep / 1'000'000
            << " MB:\n";
  const std::string path = dir + "/buffered.dat";
  fs::remove(path);
  pyk::posix::Fd fd = pyk::posix::open_file(path, O_RDWR | O_CREAT | O_TRUNC);
  const std::vector<std::byte> chunk(kChunk, std::byte{'w'});
  std::uint64_t offset = 0;
  for (int step = 1; step <= steps; ++step) {
    const auto start = Clock::now();
    for (std::uint64_t written = 0; written < kStep; written += kChunk) {
      pyk::posix::append_at(fd.get(), chunk, offset, path);
      offset += kChunk;
    }
    const double seconds = seconds_since(start);
    std::printf("  step %d (%llu-%llu MB): %.0f MB/s\n", step,
                static_cast<unsigned long long>((offset - kStep) / 1'000'000),
                static_cast<unsigned long long>(offset / 1'000'000), kStep / seconds / 1e6);
  }
  fd = pyk::posix::Fd();
  fs::remove(path);
}

}  // namespace

int main(int argc, char** argv) {
  std::string dir = "/tmp/pyk-bench-io";
  int rounds = 5, count = 2000, steps = 6;
  po::options_description options("pyk-bench-io options");
  options.add_options()("help,h", "show this help")(
      "dir", po::value(&dir)->default_value(dir), "scratch directory (on the disk to measure)")(
      "rounds", po::value(&rounds)->default_value(rounds), "alternated rounds of durable writes")(
      "count", po::value(&count)->default_value(count), "durable writes per run")(
      "steps", po::value(&steps)->default_value(steps), "400 MB steps of buffered writes");
  try {
    po::variables_map vm;
    po::store(po::parse_command_line(argc, argv, options), vm);
    if (vm.count("help")) {
      std::cout << "Usage: pyk-bench-io [options]\n\n" << options;
      return 0;
    }
    po::notify(vm);
    if (rounds < 1 || count < 1 || steps < 1)
      throw po::error("--rounds, --count and --steps must be at least 1");
  } catch (const po::error& e) {
    std::cerr << "pyk-bench-io: " << e.what() << "\n";
    return 2;
  }
  try {
    fs::create_directories(dir);
    durable_writes(dir, rounds, count);
    buffered_writes(dir, steps);
  } catch (const std::exception& e) {
    std::cerr << "pyk-bench-io: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
