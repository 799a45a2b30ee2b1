#include "tools/lib/fsck_datafile.h"

#include "core/filename.h"
#include "core/format.h"
#include "core/log_reader.h"
#include "core/recovery_rule.h"

#include <optional>
#include "tools/lib/quarantine.h"
#include "tools/lib/source.h"

namespace pyk::tools {
namespace {

Finding finding_for(const std::string& file, const LogProblem& p, bool newest) {
  Finding f{.file = file, .offset = p.offset, .length = p.length};
  if (p.kind == LogProblem::Kind::incomplete_batch) {
    f.kind = FindingKind::incomplete_batch;
    f.detail = p.reason;
    f.action = "move the batch's records to quarantine (a batch applies whole or not at all)";
  } else if (p.at_tail) {
    f.kind = FindingKind::torn_tail;
    f.detail = p.reason + (newest ? " (Store::open cuts this tail)"
                                  : " (not the newest segment: Store::open refuses)");
    f.action = "cut the tail; the bytes to quarantine";
  } else {
    f.kind = FindingKind::damaged_region;
    f.detail = p.reason;
    f.action = "copy the valid records into a new file in its place; bad bytes to quarantine";
  }
  return f;
}

}  // namespace

DatafileAnalysis analyse_datafile(Directory& directory, const std::string& name, std::uint32_t id,
                                  bool newest, RecoveryMode recovery) {
  DatafileAnalysis a;
  auto segment = directory.open(name, OpenMode::read_only);
  a.size = segment->size();
  if (a.size == 0) {
    a.header = FileHeaderProblem::too_short;
    a.findings.push_back({.file = name,
                          .kind = FindingKind::empty_file,
                          .detail = "datafile is empty (no file header)",
                          .action = "move the file to quarantine"});
    return a;
  }
  const FileHeaderCheck header = check_file_header(*segment, format::kDataMagic, id);
  a.header = header.problem;
  if (header.ok()) {
    a.merge_rank = header.header.merge_rank;
  } else {
    const bool whole_file = a.size <= format::kFileHeaderSize;
    a.findings.push_back(
        {.file = name,
         .length = header.present,
         .kind = header.problem == FileHeaderProblem::bad_magic ? FindingKind::bad_magic
                                                                : FindingKind::bad_header,
         .detail = "bad file header: " + header.describe(),
         .action = whole_file ? "move the file to quarantine"
                              : "write a new header and keep the valid records; the old header to "
                                "quarantine (a merge rank it held is lost: the file then replays by its id)"});
    if (whole_file) return a;
    // The engine's rule for the newest segment: a bad header is damage at offset 0.
    const LogProblem problem{LogProblem::Kind::damaged_bytes, 0, a.size,
                             "bad file header: " + header.describe(), false};
    const RecoveryDecision d = decide_recovery(recovery, &problem, 0);
    if (newest && d.action == RecoveryDecision::Action::set_aside) {
      a.findings.back().detail += "; Store::open: " + d.explanation;
      a.findings.back().action = "move the file to quarantine";
      return a;  // nothing kept
    }
  }
  std::optional<LogProblem> first;
  std::size_t first_finding = 0;
  std::uint64_t committed_end = format::kFileHeaderSize;
  LogReader reader(*segment, LogReader::Mode::tolerant, [&](const LogProblem& p) {
    if (!first) {
      first = p;
      first_finding = a.findings.size();
    }
    a.findings.push_back(finding_for(name, p, newest));
  });
  // The newest segment's rule is the engine's (decide_recovery): records past
  // damage it sets aside are not kept.
  bool set_aside = false;
  while (reader.next()) {
    if (newest && first && !set_aside) {
      const RecoveryDecision d = decide_recovery(recovery, &*first, committed_end);
      set_aside = d.action == RecoveryDecision::Action::set_aside;
      if (set_aside) {
        Finding& f = a.findings[first_finding];
        f.detail += "; Store::open: " + d.explanation;
        f.action = "keep the log up to offset " + std::to_string(d.keep_end) +
                   "; everything from there to quarantine";
      }
    }
    if (set_aside) continue;
    a.kept.emplace_back(reader.unit().offset, reader.unit().end);
    committed_end = reader.unit().end;
  }
  a.records = reader.records_read();
  return a;
}

void repair_datafile(Directory& store, Directory& quarantine, const std::string& name,
                     std::uint32_t id, const DatafileAnalysis& a) {
  const std::string bytes = read_all(store, name);
  // Bytes not kept, except the file header when it is fine.
  std::vector<DatafileAnalysis::Range> dropped;
  std::uint64_t at = a.header_ok() ? format::kFileHeaderSize : 0;
  for (const auto& [from, to] : a.kept) {
    if (from > at) dropped.emplace_back(at, from);
    at = to;
  }
  if (at < bytes.size()) dropped.emplace_back(at, bytes.size());

  if (a.kept.empty() && !a.header_ok()) {
    move_to_quarantine(store, quarantine, name);
    return;
  }
  for (const auto& [from, to] : dropped)
    quarantine_bytes(quarantine, quarantine_name(name, from, to),
                     std::string_view(bytes).substr(from, to - from));
  if (a.header_ok() && dropped.size() == 1 && dropped.front().second == bytes.size()) {
    // Only a tail to cut.
    auto segment = store.open(name, OpenMode::append);
    segment->truncate(dropped.front().first);
    segment->seal();
    return;
  }
  std::string rebuilt;
  // The merge rank keeps the file's place in replay order (format.h).
  const auto header = format::encode_file_header(format::kDataMagic, id, a.merge_rank);
  rebuilt.append(reinterpret_cast<const char*>(header.data()), header.size());
  for (const auto& [from, to] : a.kept) rebuilt.append(bytes, from, to - from);
  const std::string temp = filename::temp(name);
  store.remove(temp);
  write_file(store, temp, rebuilt);
  store.rename(temp, name);
  store.sync();
}

}  // namespace pyk::tools
