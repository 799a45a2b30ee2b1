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
namespace {

// The crc32 instruction takes 3 cycles but can start one every cycle, so one
// dependent chain over a buffer runs at a third of its speed. Long inputs are
// cut into rounds of three streams of kStream bytes, checksummed side by side
// and then combined: CRC-32C is linear, so the state after A|B|C is
// shift(shift(a) ^ b) ^ c, where a is A's state, b and c are the states of B
// and C started from zero, and shift() appends kStream zero bytes.
constexpr std::size_t kStream = 256;

std::uint64_t load64(const unsigned char* p) {
  std::uint64_t word;
  std::memcpy(&word, p, 8);
  return word;
}

// shift() as four byte-indexed tables: appending zeros is linear in the
// state, so each table entry is the XOR of the shifted basis bits it holds.
struct ShiftTables {
  std::uint32_t byte[4][256];
};

__attribute__((target("sse4.2"))) ShiftTables make_shift_tables() {
  std::uint32_t basis[32];
  for (int bit = 0; bit < 32; ++bit) {
    std::uint64_t state = std::uint64_t{1} << bit;
    for (std::size_t i = 0; i < kStream / 8; ++i) state = _mm_crc32_u64(state, 0);
    basis[bit] = static_cast<std::uint32_t>(state);
  }
  ShiftTables tables{};
  for (int k = 0; k < 4; ++k) {
    for (int b = 0; b < 256; ++b) {
      std::uint32_t shifted = 0;
      for (int bit = 0; bit < 8; ++bit)
        if ((b >> bit) & 1) shifted ^= basis[8 * k + bit];
      tables.byte[k][b] = shifted;
    }
  }
  return tables;
}

std::uint32_t shift(const ShiftTables& t, std::uint32_t state) {
  return t.byte[0][state & 0xFF] ^ t.byte[1][(state >> 8) & 0xFF] ^
         t.byte[2][(state >> 16) & 0xFF] ^ t.byte[3][state >> 24];
}

}  // namespace

__attribute__((target("sse4.2"))) std::uint32_t hardware(std::uint32_t crc,
                                                          std::span<const std::byte> data) {
  std::uint64_t state = crc ^ 0xFFFFFFFFu;
  const auto* p = reinterpret_cast<const unsigned char*>(data.data());
  std::size_t n = data.size();
  if (n >= 3 * kStream) {
    static const ShiftTables tables = make_shift_tables();
    do {
      std::uint64_t a = state, b = 0, c = 0;
      for (std::size_t i = 0; i < kStream; i += 8) {
        a = _mm_crc32_u64(a, load64(p + i));
        b = _mm_crc32_u64(b, load64(p + kStream + i));
        c = _mm_crc32_u64(c, load64(p + 2 * kStream + i));
      }
      state = shift(tables, shift(tables, static_cast<std::uint32_t>(a)) ^
                                static_cast<std::uint32_t>(b)) ^
              static_cast<std::uint32_t>(c);
      p += 3 * kStream;
      n -= 3 * kStream;
    } while (n >= 3 * kStream);
  }
  while (n >= 8) {
    state = _mm_crc32_u64(state, load64(p));
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
