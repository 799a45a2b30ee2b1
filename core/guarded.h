// The public face's error rule: every failure is a pyk::Error
// (core/error.h), running out of memory too. Store's members run through it.
#pragma once

#include <new>
#include <stdexcept>
#include <string>

#include "core/error.h"

namespace pyk {

template <class Fn>
decltype(auto) guarded(Fn&& fn) {
  try {
    return fn();
  } catch (const std::bad_alloc&) {
    throw Error("out of memory");
  } catch (const std::length_error& e) {
    throw Error(std::string("out of memory: ") + e.what());
  }
}

}  // namespace pyk
