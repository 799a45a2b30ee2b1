// pyk-fsck's logic: check a store directory (or one file) and, on request,
// repair it. Reads datafiles with the engine's LogReader, so it sees exactly
// the damage and the incomplete batches recovery would.
//
// Repair never deletes data: every byte it drops from a datafile, and every
// file it moves away, is first copied into the `quarantine/` folder of the
// store (`quarantine/NAME` for a whole file, `quarantine/NAME.FROM-TO` for
// the bytes [FROM, TO) of NAME; ".1", ".2"... if that name is taken).
// Datafiles are taken in the engine's replay order (core/replay_order.h), and
// hint files are checked and rebuilt with the engine's hint::check and
// hint::write. Repair is idempotent: a repaired store checks clean, so a
// second run changes nothing.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

#include "core/directory.h"
#include "core/options.h"
#include "tools/lib/finding.h"
#include "tools/lib/quarantine.h"

namespace pyk::tools {

struct FsckReport {
  std::string target;
  std::vector<Finding> findings;
  std::uint64_t files = 0;
  std::uint64_t records = 0;
  std::uint64_t bytes = 0;
  bool repair = false;
  // Set when --repair was refused because it would change what some keys
  // show and --accept-reverted was not given: nothing was changed.
  std::string refused;
  std::uint64_t problems() const;
  std::uint64_t repaired() const;
};

struct FsckOptions {
  bool repair = false;
  // The rule for damage in the newest segment, as Store::open applies it
  // (Options::recovery): fsck explains it, --repair applies it.
  RecoveryMode recovery = RecoveryMode::point_in_time;
  // Apply a repair even though some keys then show an older value (or none)
  // because their newest record is lost: every such key is a reverted_key finding.
  bool accept_reverted = false;
};

// Checks (and with options.repair, repairs) the store in `store`, holding its
// datafiles to its manifest as Store::open does. `quarantine` receives
// dropped bytes and files (made only if something is moved). Throws IoError
// on I/O failure, LockError when repairing a store a live process has open.
FsckReport fsck_store(Directory& store, Quarantine& quarantine, const FsckOptions& options);

// Checks one file (a datafile or a Python pyk file); never repairs.
FsckReport fsck_file(Directory& directory, const std::string& name);

// A directory or a file by path; repair needs a directory (InvalidArgument).
FsckReport fsck_path(const std::string& path, const FsckOptions& options);

void write_report_text(const FsckReport& report, std::ostream& out);
void write_report_json(const FsckReport& report, std::ostream& out);

}  // namespace pyk::tools
