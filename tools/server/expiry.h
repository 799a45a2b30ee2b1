// Redis's expiry arguments turned into a time left, as the store takes it.
#pragma once

#include <chrono>
#include <optional>
#include <string_view>

namespace pyk::server {

enum class TimeUnit { seconds, milliseconds };
enum class TimeBase { relative, unix_epoch };  // EX/EXPIRE vs EXAT/EXPIREAT

// The time left (possibly <= 0: already past) that argument `arg` names, or
// nullopt if it is not an integer or overflows.
std::optional<std::chrono::microseconds> time_left(std::string_view arg, TimeUnit unit,
                                                   TimeBase base);

// Whole milliseconds (rounded up) and seconds (rounded like Redis) of a TTL.
long long ttl_millis(std::chrono::microseconds left);
long long ttl_seconds(std::chrono::microseconds left);

}  // namespace pyk::server
