// What the three programs share: version, exit codes, and turning a pyk
// error into a message and an exit code at main.
#pragma once

#include <boost/program_options.hpp>
#include <functional>
#include <optional>
#include <string_view>

namespace pyk::tools {

inline constexpr std::string_view kVersion = "pyk tools 0.1 (format version 1)";

// Exit codes, the same in pyk, pyk-dump and pyk-fsck.
enum Exit : int {
  kOk = 0,          // success; fsck/dump: clean
  kFound = 1,       // fsck/dump: problems or damage found (fsck --repair: found and repaired);
                    // pyk get/del: key not found
  kUsage = 2,       // bad usage, I/O error, not a store
  kCorrupt = 3,     // pyk: the store is damaged and refuses to open (run pyk-fsck --repair)
  kLocked = 4,      // pyk, pyk-fsck --repair: another process has the store open
};

// The command line the three programs share: `visible` (printed by --help,
// followed by `help_tail`) plus `hidden` options, every positional argument
// going to option `positional`, and --help / --version handled here. Adds
// -h/--help and -V/--version to `visible` itself. Returns the exit code to end
// with (after --help or --version), or nullopt to go on with `vm` filled in.
std::optional<int> parse_command_line(int argc, char** argv, std::string_view program,
                                      boost::program_options::options_description& visible,
                                      const boost::program_options::options_description& hidden,
                                      const char* positional, std::string_view help_tail,
                                      boost::program_options::variables_map& vm);

// Runs `body`, mapping exceptions to a message on stderr (prefixed `program: `)
// and an exit code. Never lets an exception escape.
int run_main(std::string_view program, const std::function<int()>& body);

}  // namespace pyk::tools
