// RESP2 replies, appended to a client's output buffer, which may not grow
// past a limit (Redis's client-output-buffer-limit).
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

#include "core/error.h"

namespace pyk::server {

// A reply grew past the client's output limit: the client is to be dropped.
class OutputLimitExceeded : public Error {
 public:
  using Error::Error;
};

class RespWriter {
 public:
  explicit RespWriter(std::string& out, std::size_t limit = std::numeric_limits<std::size_t>::max())
      : out_(out), limit_(limit) {}

  void simple(std::string_view s) { line('+', s); }  // +OK
  // -ERR ...; a CR or LF in the message (it may quote the client) becomes a space.
  void error(std::string_view message) {
    const std::size_t start = out_.size() + 1;
    line('-', message);
    for (std::size_t i = start; i + 2 < out_.size(); ++i) {
      if (out_[i] == '\r' || out_[i] == '\n') out_[i] = ' ';
    }
  }
  void integer(long long n) { line(':', std::to_string(n)); }
  void bulk(std::string_view s) {
    reserve(s.size() + 32);
    line('$', std::to_string(s.size()));
    out_ += s;
    out_ += "\r\n";
  }
  void null() { line('$', "-1"); }  // a missing value
  void array(std::size_t n) { line('*', std::to_string(n)); }
  void null_array() { line('*', "-1"); }
  void ok() { simple("OK"); }

  std::string& buffer() { return out_; }

 private:
  void reserve(std::size_t more) {
    if (out_.size() + more > limit_) throw OutputLimitExceeded("client output buffer limit reached");
  }
  void line(char type, std::string_view s) {
    reserve(s.size() + 3);
    out_ += type;
    out_ += s;
    out_ += "\r\n";
  }
  std::string& out_;
  std::size_t limit_;
};

}  // namespace pyk::server
