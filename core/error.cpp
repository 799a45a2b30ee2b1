#include "core/error.h"

#include <cstring>

namespace pyk {

IoError::IoError(std::string what, std::string path, int error_code)
    : Error(std::move(what)), path_(std::move(path)), error_code_(error_code) {}

CorruptionError::CorruptionError(std::string what, std::string file, std::uint64_t offset)
    : Error(what + " in " + file + " at offset " + std::to_string(offset)),
      file_(std::move(file)),
      offset_(offset) {}

LockError::LockError(std::string what, std::string path)
    : Error(std::move(what)), path_(std::move(path)) {}

void throw_io_error(const std::string& operation, const std::string& path, int errno_value) {
  throw IoError(operation + " failed for " + path + ": " + std::strerror(errno_value), path,
                errno_value);
}

}  // namespace pyk
