// pyk-fsck's logic: check a store directory (or one file) and, on request,
// repair it. Uses the engine's RecordReader, so it sees exactly the damage
// recovery would.
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

namespace pyk::tools {

struct Finding {
  std::string file;
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
  // Stable identifiers: bad_header, bad_magic, empty_file, damaged_region,
  // torn_tail, incomplete_batch, temp_file, bad_hint (damaged or stale:
  // rebuilt), orphan_hint, python_pyk_file, python_char_lengths (problems);
  // stray_file, stale_lock, store_in_use, segment_gap, missing_hint (notes;
  // --repair writes a missing hint of a sealed datafile).
  std::string kind;
  std::string detail;
  std::string action;    // what --repair does (or did) about it
  bool problem = true;   // false: a note, does not make the check fail
  bool repaired = false;
};

struct FsckReport {
  std::string target;
  std::vector<Finding> findings;
  std::uint64_t files = 0;
  std::uint64_t records = 0;
  std::uint64_t bytes = 0;
  bool repair = false;
  std::uint64_t problems() const;
  std::uint64_t repaired() const;
};

struct FsckOptions {
  bool repair = false;
};

// Checks (and with options.repair, repairs) the store in `store`.
// `quarantine` receives dropped bytes; needed only when repairing.
// Throws IoError on I/O failure, LockError when repairing a store a live
// process has open.
FsckReport fsck_store(Directory& store, Directory* quarantine, const FsckOptions& options);

// Checks one file (a datafile or a Python pyk file); never repairs.
FsckReport fsck_file(Directory& directory, const std::string& name);

// A directory or a file by path; repair needs a directory (InvalidArgument).
FsckReport fsck_path(const std::string& path, const FsckOptions& options);

void write_report_text(const FsckReport& report, std::ostream& out);
void write_report_json(const FsckReport& report, std::ostream& out);

}  // namespace pyk::tools
