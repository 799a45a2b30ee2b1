// Atomic file replacement: how pyk writes a whole file that must appear
// complete or not at all (the manifest, hint files, the keydir snapshot).
// Its bytes go to a temp name (filename::temp) first; only a whole file is
// renamed over the final name, and the directory synced after that rename
// (as leveldb's SetCurrentFile).
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "core/directory.h"
#include "core/segment.h"

namespace pyk {

// Writes filename::temp(final_name): removes a leftover of an interrupted
// write, creates the file (`size_hint` as Directory::create takes it) and
// calls write(file), which appends and seals it. If anything throws, the
// temp file is removed (a full disk, say: nothing half-written is left
// taking space) and the original error rethrown.
void write_temp_file(Directory& directory, const std::string& final_name, std::uint64_t size_hint,
                     const std::function<void(Segment& file)>& write);

// write_temp_file, then renames the temp file over final_name and syncs the
// directory, so that the new file is durable under its name.
void replace_file(Directory& directory, const std::string& final_name, std::uint64_t size_hint,
                  const std::function<void(Segment& file)>& write);

}  // namespace pyk
