// The pyk error hierarchy. Every failure pyk reports is one of these.
// "Not found" is never an error: lookups return std::optional.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

namespace pyk {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A system call failed. path() names the file or directory, error_code() is errno.
class IoError : public Error {
 public:
  IoError(std::string what, std::string path, int error_code);
  const std::string& path() const noexcept { return path_; }
  int error_code() const noexcept { return error_code_; }

 private:
  std::string path_;
  int error_code_;
};

// Stored bytes do not hold what they should (bad CRC, bad header, impossible size).
class CorruptionError : public Error {
 public:
  CorruptionError(std::string what, std::string file, std::uint64_t offset);
  const std::string& file() const noexcept { return file_; }
  std::uint64_t offset() const noexcept { return offset_; }

 private:
  std::string file_;
  std::uint64_t offset_;
};

// The caller asked for something pyk cannot do (empty key, oversized value, unknown backend...).
class InvalidArgument : public Error {
 public:
  using Error::Error;
};

// Another writer holds the store's lock.
class LockError : public Error {
 public:
  LockError(std::string what, std::string path);
  const std::string& path() const noexcept { return path_; }

 private:
  std::string path_;
};

// Throws IoError for `errno_value` after a failed system call on `path`.
[[noreturn]] void throw_io_error(const std::string& operation, const std::string& path,
                                 int errno_value);

}  // namespace pyk
