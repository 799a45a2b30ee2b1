#include "tools/lib/cli.h"

#include <boost/program_options/errors.hpp>
#include <iostream>
#include <new>

#include "core/error.h"

namespace pyk::tools {

int run_main(std::string_view program, const std::function<int()>& body) {
  try {
    return body();
  } catch (const boost::program_options::error& e) {
    std::cerr << program << ": " << e.what() << " (see " << program << " --help)\n";
    return kUsage;
  } catch (const CorruptionError& e) {
    std::cerr << program << ": the store is damaged: " << e.what()
              << "\n  check it with: pyk-fsck DIR   repair it with: pyk-fsck --repair DIR\n";
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
