// pyk-dump's logic: one line per record of a datafile, a Python pyk file, or
// every datafile of a store in replay order; one line per entry of a hint
// file. Damage is shown as a bad region (offset, length, reason) and the dump
// carries on at the next valid record.
//
// Text line:  FILE @OFFSET size=N TYPE time=ISO expiry=ISO|none key="..." value="..." crc=ok
// Hint entry: FILE @OFFSET size=N hint-TYPE key="..." record=DATAFILE@OFF record_size=N
//             time=ISO expiry=ISO|none crc=ok|BAD
// Damaged key (--live): FILE @OFFSET DAMAGED key="..." reason="..."
// JSON Lines (--json): one object per record, hint entry ("type":"hint"),
// damage, damaged key, file and summary; the fields are documented in
// README.md ("Tools").
#pragma once

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>

#include "core/directory.h"

namespace pyk::tools {

struct DumpOptions {
  bool json = false;
  bool hex = false;   // raw bytes of each record (and of each bad region, up to 256 bytes)
  bool live = false;  // only the records the keydir would point at (unexpired values)
  bool hints = false; // store dumps: each datafile's hint file after it (and orphan hints)
  std::optional<std::string> key;  // only this key's records
  std::size_t max_value = 0;       // cut shown values to this many bytes; 0 = no limit
  std::uint64_t now_micros = 0;    // "now" for --live expiry; 0 = the system clock
};

struct DumpSummary {
  std::uint64_t files = 0;
  std::uint64_t records = 0;  // shown records (after --key / --live)
  std::uint64_t values = 0;
  std::uint64_t tombstones = 0;
  std::uint64_t batches = 0;  // batch headers
  std::uint64_t bytes = 0;    // bytes of shown records
  std::uint64_t bad_regions = 0;
  std::uint64_t bad_bytes = 0;
  std::uint64_t char_length_records = 0;  // Python records whose lengths counted characters
  // --live: keys whose newest record is damaged or lost (never shown with an
  // older value), and damaged regions outside a torn tail no key was pinned on.
  std::uint64_t damaged_keys = 0;
  std::uint64_t unattributed_damage = 0;
  // The live keys are not all shown as they are: what export must fail on.
  bool live_incomplete() const { return damaged_keys > 0 || unattributed_damage > 0; }
};

// Dumps file `name` of `directory`: a pyk datafile, a hint file (its entries,
// then hint::check's verdict against its datafile: a bad or stale hint counts
// as a bad region) or a Python pyk file (recognised as described in
// python_pyk.h). Adds to `summary`.
void dump_file(Directory& directory, const std::string& name, const DumpOptions& options,
               std::ostream& out, DumpSummary& summary);

// Dumps every datafile of the store in `directory` in the engine's replay
// order (core/replay_order.h), each followed by its hint file with options.hints.
void dump_store(Directory& directory, const DumpOptions& options, std::ostream& out,
                DumpSummary& summary);

void write_summary(const DumpSummary& summary, const DumpOptions& options, std::ostream& out);

// A store directory or a single file; then the summary line.
// Throws IoError if the path cannot be read.
DumpSummary dump_path(const std::string& path, const DumpOptions& options, std::ostream& out);

}  // namespace pyk::tools
