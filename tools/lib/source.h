// Finding what a tool was pointed at: a store directory or one file, opened
// through the same Directory interface the engine uses.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/directory.h"

namespace pyk::tools {

struct Source {
  std::shared_ptr<Directory> directory;
  std::string file;  // empty when the path is a whole store directory
};

// Throws IoError if `path` is missing or unreadable.
Source open_source(const std::string& path);

// Datafile names of a store in the engine's replay order (core/replay_order.h):
// (merge rank, id), oldest first. Throws IoError.
std::vector<std::string> datafiles(Directory& directory);

// The whole content of one file.
std::string read_all(Directory& directory, const std::string& name);

}  // namespace pyk::tools
