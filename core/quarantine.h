// The quarantine: where bytes that recovery or pyk-fsck --repair drop go
// instead of being deleted (a directory "quarantine" inside the store).
//   NAME            a whole file moved away
//   NAME.FROM-TO    the bytes [FROM, TO) of file NAME
//   ... .1, .2      when that name is taken already
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/directory.h"

namespace pyk {

// Name of the quarantined range [from, to) of file `name`.
std::string quarantine_name(const std::string& name, std::uint64_t from, std::uint64_t to);

// Writes `bytes` as file `name` of `directory` and seals it.
void write_file(Directory& directory, const std::string& name, std::string_view bytes);

// Keeps `bytes` as `base` in `quarantine` (".1", ".2"... if taken), durably;
// returns the name used.
std::string quarantine_bytes(Directory& quarantine, const std::string& base, std::string_view bytes);

}  // namespace pyk
