// pyk-dump's text lines (formats in dump.h): one line per record, entry,
// bad region and file, then the summary line.
#pragma once

#include <iosfwd>

#include "tools/lib/dump_sink.h"

namespace pyk::tools {

class TextDumpSink final : public DumpSink {
 public:
  // `out` must outlive the sink.
  TextDumpSink(const DumpOptions& options, std::ostream& out) : options_(options), out_(out) {}
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
