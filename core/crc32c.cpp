#include "core/crc32c.h"

#include <boost/crc.hpp>
#include <cstring>

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

namespace pyk::crc32c {

std::uint32_t portable(std::uint32_t crc, std::span<const std::byte> data) {
  // Reflected CRC-32C. To continue a running checksum, undo its final xor;
  // boost takes the initial remainder unreflected, so reflect it back.
  const std::uint32_t state = crc ^ 0xFFFFFFFFu;
  std::uint32_t unreflected = 0;
  for (int bit = 0; bit < 32; ++bit)
    if ((state >> bit) & 1) unreflected |= std::uint32_t{1} << (31 - bit);
  boost::crc_optimal<32, 0x1EDC6F41, 0xFFFFFFFF, 0xFFFFFFFF, true, true> engine(unreflected);
  engine.process_bytes(data.data(), data.size());
  return engine.checksum();
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) std::uint32_t hardware(std::uint32_t crc,
                                                          std::span<const std::byte> data) {
  std::uint64_t state = crc ^ 0xFFFFFFFFu;
  const auto* p = reinterpret_cast<const unsigned char*>(data.data());
  std::size_t n = data.size();
  while (n >= 8) {
    std::uint64_t word;
    std::memcpy(&word, p, 8);
    state = _mm_crc32_u64(state, word);
    p += 8;
    n -= 8;
  }
  auto state32 = static_cast<std::uint32_t>(state);
  while (n-- > 0) state32 = _mm_crc32_u8(state32, *p++);
  return state32 ^ 0xFFFFFFFFu;
}

bool hardware_available() {
  static const bool available = __builtin_cpu_supports("sse4.2");
  return available;
}
#else
std::uint32_t hardware(std::uint32_t crc, std::span<const std::byte> data) {
  return portable(crc, data);
}
bool hardware_available() { return false; }
#endif

std::uint32_t extend(std::uint32_t crc, std::span<const std::byte> data) {
  return hardware_available() ? hardware(crc, data) : portable(crc, data);
}

}  // namespace pyk::crc32c
