#include "tools/lib/dump_sink.h"


namespace pyk::tools {

std::unique_ptr<DumpSink> make_dump_sink(const DumpOptions& options, std::ostream& out) {
  if (options.json) return make_json_dump_sink(options, out);
  return make_text_dump_sink(options, out);
}

}  // namespace pyk::tools
