// CRC-32C (Castagnoli), the checksum of every pyk record and file header.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace pyk::crc32c {

// Extends `crc` (0 for a fresh checksum) over `data`. Uses the SSE4.2 crc32
// instruction (and VPCLMULQDQ for long inputs) when the CPU has it,
// otherwise portable().
std::uint32_t extend(std::uint32_t crc, std::span<const std::byte> data);

inline std::uint32_t value(std::span<const std::byte> data) { return extend(0, data); }

// The two implementations, exposed so a test can check they agree.
std::uint32_t portable(std::uint32_t crc, std::span<const std::byte> data);  // Boost.CRC
// SSE4.2's crc32 instruction; from 256 bytes on, carry-less multiplication
// (AVX-512 VPCLMULQDQ) where folding_available().
std::uint32_t hardware(std::uint32_t crc, std::span<const std::byte> data);
bool hardware_available();
bool folding_available();

}  // namespace pyk::crc32c
