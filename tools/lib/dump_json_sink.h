// pyk-dump --json: one JSON object a line per record, entry, bad region and
// file, then {"summary":{...}}. Fields are documented in README.md ("Tools");
// key and value bytes are a UTF-8 string, or base64 in a "*_b64" field.
#pragma once

#include <iosfwd>

#include "tools/lib/dump_sink.h"

namespace pyk::tools {

class JsonDumpSink final : public DumpSink {
 public:
  // `out` must outlive the sink.
  JsonDumpSink(const DumpOptions& options, std::ostream& out) : options_(options), out_(out) {}
  void file(const FileLine& line) override;
  void record(const RecordLine& line) override;
  void hint_entry(const HintLine& line) override;
  void damage(const DamageLine& line) override;
  void hint_verdict(const HintVerdictLine& line) override;
  void summary(const DumpSummary& summary) override;

 private:
  const DumpOptions options_;
  std::ostream& out_;
};

}  // namespace pyk::tools
