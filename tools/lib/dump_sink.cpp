#include "tools/lib/dump_sink.h"

#include "tools/lib/dump_json_sink.h"
#include "tools/lib/dump_text_sink.h"

namespace pyk::tools {

std::unique_ptr<DumpSink> make_dump_sink(const DumpOptions& options, std::ostream& out) {
  if (options.json) return std::make_unique<JsonDumpSink>(options, out);
  return std::make_unique<TextDumpSink>(options, out);
}

}  // namespace pyk::tools
