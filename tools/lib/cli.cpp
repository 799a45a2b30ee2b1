#include "tools/lib/cli.h"

#include <boost/program_options/errors.hpp>
#include <filesystem>
#include <iostream>
#include <new>

#include "core/error.h"

namespace pyk::tools {

std::optional<int> parse_command_line(int argc, char** argv, std::string_view program,
                                      boost::program_options::options_description& visible,
                                      const boost::program_options::options_description& hidden,
                                      const char* positional, std::string_view help_tail,
                                      boost::program_options::variables_map& vm) {
  namespace po = boost::program_options;
  visible.add_options()("help,h", "show this help")("version,V", "show the version");
  po::options_description all;
  all.add(visible).add(hidden);
  po::positional_options_description positionals;
  positionals.add(positional, -1);
  po::store(po::command_line_parser(argc, argv).options(all).positional(positionals).run(), vm);
  po::notify(vm);
  if (vm.count("help")) {
    std::cout << visible << help_tail;
    return int{kOk};
  }
  if (vm.count("version")) {
    std::cout << program << ": " << kVersion << '\n';
    return int{kOk};
  }
  return std::nullopt;
}

int run_main(std::string_view program, const std::function<int()>& body) {
  try {
    return body();
  } catch (const boost::program_options::error& e) {
    std::cerr << program << ": " << e.what() << " (see " << program << " --help)\n";
    return kUsage;
  } catch (const CorruptionError& e) {
    // The store directory is the damaged file's.
    const std::string dir = std::filesystem::path(e.file()).parent_path().string();
    const std::string shown = dir.empty() ? "DIR" : dir;
    std::cerr << program << ": the store is damaged: " << e.what() << "\n  check it with: pyk-fsck "
              << shown << "   repair it with: pyk-fsck --repair " << shown << '\n';
    return kCorrupt;
  } catch (const LockError& e) {
    std::cerr << program << ": " << e.what() << " (another process has the store open)\n";
    return kLocked;
  } catch (const Error& e) {
    std::cerr << program << ": " << e.what() << '\n';
    return kUsage;
  } catch (const std::bad_alloc&) {
    std::cerr << program << ": out of memory\n";
    return kUsage;
  } catch (const std::exception& e) {
    std::cerr << program << ": " << e.what() << '\n';
    return kUsage;
  }
}

}  // namespace pyk::tools
