// Moving data in and out of a store: `pyk export` / `pyk import` (JSON Lines,
// the same record objects pyk-dump --json prints) and the Python pyk file.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <string>

#include "core/directory.h"
#include "core/store.h"
#include "tools/lib/dump.h"

namespace pyk::tools {

struct ImportStats {
  std::uint64_t lines = 0;
  std::uint64_t puts = 0;
  std::uint64_t erases = 0;
  std::uint64_t expired = 0;  // skipped: already expired
  std::uint64_t skipped = 0;  // not records (file, damage, summary lines, hint entries) or batch headers
  std::uint64_t char_length_records = 0;  // Python records whose lengths counted characters
  std::uint64_t damaged_regions = 0;      // Python file regions that did not decode
};

// Writes every live key of the store in `directory` as JSON Lines
// (pyk-dump --json --live without value cutting), then a summary line. A key
// whose newest record is damaged is a damaged-key line, never an older value:
// the summary's live_incomplete() tells the caller to fail.
DumpSummary export_store(Directory& directory, std::ostream& out, std::uint64_t now_micros = 0);

// Applies JSON Lines to `store` as one WriteBatch, all or nothing:
// "type":"value" (or no type) puts, "tombstone" erases; expiry_us is kept (an
// expired record is skipped). File, summary and hint lines are skipped.
// Throws InvalidArgument naming the line, before writing anything, for
// malformed JSON, bad base64, an empty key, a value cut by --max-value, or a
// damage line (the export did not hold all the data).
ImportStats import_jsonl(Store& store, std::istream& in, std::uint64_t now_micros = 0);

// Brings the live keys of a Python pyk file into `store` (see python_pyk.h).
// Throws InvalidArgument if the file does not look like one.
ImportStats import_python_pyk(Store& store, Directory& directory, const std::string& name,
                              std::uint64_t now_micros = 0);

}  // namespace pyk::tools
