#include "tools/lib/fsck.h"

#include <algorithm>
#include <map>
#include <set>
#include <ostream>

#include "core/error.h"
#include "core/filename.h"
#include "core/format.h"
#include "core/hint_file.h"
#include "core/replay_order.h"
#include "tools/lib/fsck_datafile.h"
#include "tools/lib/hints.h"
#include "tools/lib/python_pyk.h"
#include "tools/lib/quarantine.h"
#include "tools/lib/source.h"
#include "tools/lib/text.h"

namespace pyk::tools {
namespace {

std::string json_finding(const Finding& f) {
  return "{\"file\":" + json_string(f.file) + ",\"offset\":" + std::to_string(f.offset) +
         ",\"length\":" + std::to_string(f.length) + ",\"kind\":\"" + finding_kind_name(f.kind) +
         "\",\"detail\":" + json_string(f.detail) + ",\"action\":" + json_string(f.action) +
         ",\"problem\":" + (f.problem() ? "true" : "false") +
         ",\"repaired\":" + (f.repaired ? "true" : "false") + "}";
}

}  // namespace

std::uint64_t FsckReport::problems() const {
  return std::count_if(findings.begin(), findings.end(), [](const Finding& f) { return f.problem(); });
}
std::uint64_t FsckReport::repaired() const {
  return std::count_if(findings.begin(), findings.end(), [](const Finding& f) { return f.repaired; });
}

FsckReport fsck_store(Directory& store, Directory* quarantine, const FsckOptions& options) {
  if (options.repair && quarantine == nullptr) throw InvalidArgument("repair needs a quarantine directory");
  FsckReport report;
  report.target = store.describe();
  report.repair = options.repair;

  const auto names = store.list();
  const bool has_lock_file = std::find(names.begin(), names.end(), filename::kLock) != names.end();
  std::unique_ptr<DirectoryLock> lock;
  if (options.repair) {
    lock = store.lock(std::string(filename::kLock));  // LockError: a live writer has it open
  } else if (has_lock_file) {
    try {
      lock = store.lock(std::string(filename::kLock));
      report.findings.push_back({.file = std::string(filename::kLock),
                                 .kind = FindingKind::stale_lock,
                                 .detail = "lock file present but held by no process (its writer "
                                           "exited; the lock died with it, so it is harmless)",
                                 .action = "nothing"});
    } catch (const LockError&) {
      report.findings.push_back({.file = std::string(filename::kLock),
                                 .kind = FindingKind::store_in_use,
                                 .detail = "a live process holds the store's lock; its newest "
                                           "segment may be growing while fsck reads it",
                                 .action = "none: --repair refuses while the store is open"});
    }
    lock.reset();
  }

  std::vector<std::pair<std::uint32_t, std::string>> hints;
  for (const auto& name : names) {
    const auto parsed = filename::parse(name);
    switch (parsed.kind) {
      case filename::Kind::data: break;  // below, in replay order
      case filename::Kind::hint: hints.emplace_back(parsed.segment_id, name); break;
      case filename::Kind::lock: break;
      case filename::Kind::temp: {
        Finding f{.file = name,
                  .kind = FindingKind::temp_file,
                  .detail = "unfinished output of an interrupted merge or hint write "
                            "(Store::open deletes it)",
                  .action = "move the file to quarantine"};
        // First, so that rewriting a datafile or a hint never reuses (deletes) its temp name.
        if (options.repair) {
          move_to_quarantine(store, *quarantine, name);
          f.repaired = true;
        }
        report.findings.push_back(std::move(f));
        break;
      }
      case filename::Kind::other:
        report.findings.push_back({.file = name,
                                   .kind = FindingKind::stray_file,
                                   .detail = "not a file of a pyk store",
                                   .action = "nothing (not ours to touch)"});
        break;
    }
  }
  // The engine's replay order, (merge rank, id): the last one is the segment
  // Store::open appends to, whose torn tail it cuts.
  const std::vector<ReplayPosition> order = replay_order(store);
  std::vector<std::uint32_t> ids;
  for (const auto& position : order) ids.push_back(position.id);
  std::sort(ids.begin(), ids.end());
  for (std::size_t i = 1; i < ids.size(); ++i) {
    if (ids[i] != ids[i - 1] + 1)
      report.findings.push_back({.file = filename::data(ids[i]),
                                 .kind = FindingKind::segment_gap,
                                 .detail = "segments " + std::to_string(ids[i - 1] + 1) + ".." +
                                           std::to_string(ids[i] - 1) +
                                           " are missing (normal after a merge)",
                                 .action = "nothing"});
  }

  std::map<std::uint32_t, std::uint64_t> data_sizes;
  for (std::size_t i = 0; i < order.size(); ++i) {
    const std::uint32_t id = order[i].id;
    const std::string name = filename::data(id);
    ++report.files;
    DatafileAnalysis a =
        analyse_datafile(store, name, id, i + 1 == order.size(), options.recovery);
    report.records += a.records;
    report.bytes += a.size;
    const bool damaged = !a.findings.empty();
    if (options.repair && damaged) {
      repair_datafile(store, *quarantine, name, id, a);
      for (auto& f : a.findings) f.repaired = true;
    }
    if (store.exists(name)) data_sizes[id] = store.open(name, OpenMode::read_only)->size();
    for (auto& f : a.findings) report.findings.push_back(std::move(f));
  }

  // Hint files, checked by the engine's own checker against their datafiles
  // (as repaired, when repairing). A bad one is only slower to open with
  // (Store::open scans the datafile instead), but it is rebuilt.
  std::set<std::uint32_t> hinted;
  for (const auto& [id, name] : hints) {
    ++report.files;
    if (!data_sizes.contains(id)) {
      Finding f{.file = name,
                .kind = FindingKind::orphan_hint,
                .detail = "hint file without its datafile (Store::open removes it)",
                .action = "move the hint file to quarantine"};
      if (options.repair) {
        move_to_quarantine(store, *quarantine, name);
        f.repaired = true;
      }
      report.findings.push_back(std::move(f));
      continue;
    }
    const std::string bytes = read_all(store, name);
    const HintCheck check = check_hint_image(store, id, format::as_bytes(bytes));
    if (check.problem == nullptr) {
      hinted.insert(id);
      continue;
    }
    Finding f{.file = name,
              .length = bytes.size(),
              .kind = FindingKind::bad_hint,
              .detail = std::string(check.problem) + " (Store::open ignores it and scans the datafile)",
              .action = "rebuild the hint file from its datafile; the old one to quarantine"};
    if (options.repair) {
      move_to_quarantine(store, *quarantine, name);
      hint::write(store, id, *store.open(filename::data(id), OpenMode::read_only));
      f.repaired = true;
      hinted.insert(id);
    }
    report.findings.push_back(std::move(f));
  }
  // Every sealed datafile (all but the newest in replay order) should have a
  // hint; the engine writes the missing ones in the background after open.
  for (std::size_t i = 0; i + 1 < order.size(); ++i) {
    const std::uint32_t id = order[i].id;
    if (hinted.contains(id) || !data_sizes.contains(id)) continue;
    Finding f{.file = filename::hint(id),
              .kind = FindingKind::missing_hint,
              .detail = "sealed datafile " + filename::data(id) +
                        " has no hint file (Store::open scans it instead)",
              .action = "rebuild the hint file from its datafile"};
    if (options.repair) {
      hint::write(store, id, *store.open(filename::data(id), OpenMode::read_only));
      f.repaired = true;
    }
    report.findings.push_back(std::move(f));
  }
  return report;
}

FsckReport fsck_file(Directory& directory, const std::string& name) {
  FsckReport report;
  report.target = directory.describe() + "/" + name;
  report.files = 1;
  const std::string bytes = read_all(directory, name);
  report.bytes = bytes.size();
  if (python_pyk::looks_like_python_pyk(bytes)) {
    report.findings.push_back({.file = name,
                               .kind = FindingKind::python_pyk_file,
                               .detail = "a file of the Python pyk (no magic; its first record "
                                         "decodes with a matching CRC-32)",
                               .action = "none; bring it in with: pyk import --from-python-pyk FILE"});
    python_pyk::Reader reader(bytes);
    for (auto step = reader.next(); step != python_pyk::Reader::Step::end; step = reader.next()) {
      if (step == python_pyk::Reader::Step::damage) {
        const auto& d = reader.damage();
        report.findings.push_back(
            {.file = name,
             .offset = d.offset,
             .length = d.length,
             .kind = d.at_tail ? FindingKind::torn_tail : FindingKind::damaged_region,
             .detail = d.reason,
             .action = "none (pyk import skips it)"});
        continue;
      }
      ++report.records;
      if (reader.record().char_lengths)
        report.findings.push_back(
            {.file = name,
             .offset = reader.record().offset,
             .length = reader.record().size,
             .kind = FindingKind::python_char_lengths,
             .detail = "key/value lengths counted in characters, not bytes (non-ASCII text)",
             .action = "none (pyk import reads the record correctly)"});
    }
    return report;
  }
  const auto parsed = filename::parse(name);
  if (parsed.kind == filename::Kind::hint ||
      std::string_view(bytes).substr(0, format::kHintMagic.size()) == format::kHintMagic) {
    const HintCheck check =
        check_hint_image(directory, hint_segment_id(name, format::as_bytes(bytes)), format::as_bytes(bytes));
    report.records = check.entries;
    if (check.problem != nullptr)
      report.findings.push_back(
          {.file = name,
           .length = bytes.size(),
           .kind = FindingKind::bad_hint,
           .detail = std::string(check.problem) +
                     (check.against_datafile
                          ? ""
                          : " (no datafile next to it: checked against the size it claims)"),
           .action = "rebuild the hint file: pyk-fsck --repair on its store directory"});
    return report;
  }
  const bool named = parsed.kind == filename::Kind::data;
  DatafileAnalysis a = analyse_datafile(directory, name, named ? parsed.segment_id : 0, true);
  // Outside a store the file name may not carry the segment id: trust the header's.
  if (!named && a.header == FileHeaderProblem::wrong_id) a.findings.erase(a.findings.begin());
  report.records = a.records;
  for (auto& f : a.findings) report.findings.push_back(std::move(f));
  return report;
}

FsckReport fsck_path(const std::string& path, const FsckOptions& options) {
  const Source source = open_source(path);
  if (!source.file.empty()) {
    if (options.repair) throw InvalidArgument("--repair works on a store directory, not a single file");
    return fsck_file(*source.directory, source.file);
  }
  std::shared_ptr<Directory> quarantine;
  if (options.repair) quarantine = open_directory("file", path + "/quarantine", true);
  return fsck_store(*source.directory, quarantine.get(), options);
}

void write_report_text(const FsckReport& report, std::ostream& out) {
  for (const auto& f : report.findings) {
    out << (f.problem() ? "PROBLEM " : "note    ") << f.file << " @" << f.offset;
    if (f.length) out << " length=" << f.length;
    out << " " << finding_kind_name(f.kind) << ": " << f.detail << " -- " << (f.repaired ? "repaired: " : "repair: ")
        << f.action << '\n';
  }
  out << "summary: " << report.target << ": files=" << report.files
      << " records=" << report.records << " bytes=" << report.bytes
      << " problems=" << report.problems();
  if (report.repair) out << " repaired=" << report.repaired();
  out << (report.problems() == 0 ? " -- clean" : report.repair ? " -- repaired" : " -- run pyk-fsck --repair to fix")
      << '\n';
}

void write_report_json(const FsckReport& report, std::ostream& out) {
  out << "{\"target\":" << json_string(report.target) << ",\"files\":" << report.files
      << ",\"records\":" << report.records << ",\"bytes\":" << report.bytes
      << ",\"problems\":" << report.problems() << ",\"repair\":" << (report.repair ? "true" : "false")
      << ",\"repaired\":" << report.repaired() << ",\"findings\":[";
  for (std::size_t i = 0; i < report.findings.size(); ++i)
    out << (i ? "," : "") << json_finding(report.findings[i]);
  out << "]}\n";
}

}  // namespace pyk::tools
