#include "tools/server/expiry.h"

#include <limits>

#include "tools/server/arguments.h"

namespace pyk::server {

std::optional<std::chrono::microseconds> time_left(std::string_view arg, TimeUnit unit,
                                                   TimeBase base) {
  const auto n = parse_integer(arg);
  if (!n) return std::nullopt;
  const long long per_unit = unit == TimeUnit::seconds ? 1000000 : 1000;
  long long micros;
  if (__builtin_mul_overflow(*n, per_unit, &micros)) return std::nullopt;
  if (base == TimeBase::relative) return std::chrono::microseconds(micros);
  const long long now = std::chrono::duration_cast<std::chrono::microseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
  long long left;
  if (__builtin_sub_overflow(micros, now, &left)) return std::nullopt;
  return std::chrono::microseconds(left);
}

long long ttl_millis(std::chrono::microseconds left) { return (left.count() + 999) / 1000; }
long long ttl_seconds(std::chrono::microseconds left) { return (ttl_millis(left) + 500) / 1000; }

}  // namespace pyk::server
