#include "tools/lib/fsck.h"

#include <algorithm>
#include <chrono>
#include <functional>
#include <map>
#include <set>
#include <ostream>

#include "core/error.h"
#include "core/filename.h"
#include "core/keydir_snapshot.h"
#include "core/format.h"
#include "core/hint_file.h"
#include "core/manifest.h"
#include "core/segment_check.h"
#include "core/replay_order.h"
#include "tools/lib/fsck_datafile.h"
#include "tools/lib/hints.h"
#include "tools/lib/live_set.h"
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
         (f.kind == FindingKind::reverted_key ? ",\"key\":" + json_string(f.key) : std::string()) +
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

namespace {

std::uint64_t now_micros() {
  using namespace std::chrono;
  return duration_cast<microseconds>(system_clock::now().time_since_epoch()).count();
}

// The findings a repair changes the visible value of a key with: a key whose
// newest record is lost shows an older value afterwards, or none.
void add_reverted_keys(const LiveView& before, const LiveView& after, FsckReport& report) {
  for (const auto& [key, d] : before.damaged) {
    const auto now = after.where.find(key);
    report.findings.push_back(
        {.file = d.file,
         .offset = d.offset,
         .kind = FindingKind::reverted_key,
         .detail = "newest record lost (" + d.reason + "); after the repair the key " +
                   (now == after.where.end()
                        ? std::string("disappears")
                        : "shows an older value, from " + now->second.first + " @" +
                              std::to_string(now->second.second)),
         .action = "needs --accept-reverted",
         .key = key});
  }
  if (before.unattributed > 0)
    report.findings.push_back(
        {.kind = FindingKind::reverted_key,
         .detail = std::to_string(before.unattributed) +
                   " damaged region(s) held records whose keys cannot be named (no hint file "
                   "names them); after the repair such a key may show an older value",
         .action = "none asked: no key can be named"});
}

}  // namespace

FsckReport fsck_store(Directory& store, Quarantine& quarantine, const FsckOptions& options) {
  FsckReport report;
  report.target = store.describe();
  report.repair = options.repair;

  const auto names = store.list();
  const bool has_lock_file = std::find(names.begin(), names.end(), filename::kLock) != names.end();
  std::unique_ptr<DirectoryLock> lock;
  if (options.repair) {
    lock = store.lock(std::string(filename::kLock));  // LockError: a live writer has it open
  } else if (has_lock_file) {
    // A LOCK file outlives every clean close (the lock dies with its
    // process), so only a held one is worth a note.
    try {
      store.lock(std::string(filename::kLock)).reset();
    } catch (const LockError&) {
      report.findings.push_back({.file = std::string(filename::kLock),
                                 .kind = FindingKind::store_in_use,
                                 .detail = "a live process holds the store's lock; its newest "
                                           "segment may be growing while fsck reads it",
                                 .action = "none: --repair refuses while the store is open"});
    }
  }

  // Repairs are collected first and applied only once it is known whether
  // they change what some key shows (then only with --accept-reverted).
  std::vector<std::pair<std::size_t, std::function<void()>>> repairs;
  auto add = [&](Finding f, std::function<void()> repair = {}) {
    if (repair) repairs.emplace_back(report.findings.size(), std::move(repair));
    report.findings.push_back(std::move(f));
  };

  std::vector<std::pair<std::uint32_t, std::string>> hints;
  for (const auto& name : names) {
    const auto parsed = filename::parse(name);
    switch (parsed.kind) {
      case filename::Kind::data: break;  // below, in replay order
      case filename::Kind::hint: hints.emplace_back(parsed.segment_id, name); break;
      case filename::Kind::lock: break;
      case filename::Kind::manifest: break;  // below
      case filename::Kind::keydir_snapshot: break;  // checked by open, which ignores a bad one
      case filename::Kind::temp:
        // First, so that rewriting a datafile or a hint never reuses (deletes) its temp name.
        add({.file = name,
             .kind = FindingKind::temp_file,
             .detail = "unfinished output of an interrupted merge, hint or manifest write "
                       "(Store::open deletes it)",
             .action = "move the file to quarantine"},
            [&, name] { move_to_quarantine(store, quarantine.get(), name); });
        break;
      case filename::Kind::other:
        add({.file = name,
             .kind = FindingKind::stray_file,
             .detail = "not a file of a pyk store",
             .action = "nothing (not ours to touch)"});
        break;
    }
  }

  // The segments the store must have (its manifest), as Store::open checks them.
  std::string manifest_problem;
  const std::optional<Manifest> listed = manifest::read(store, manifest_problem);
  const bool manifest_ok = listed && manifest_problem.empty();
  const std::vector<ReplaySegment> segments = store_segments(store);
  std::map<std::uint32_t, std::uint64_t> sizes;
  for (const auto& position : replay_order(store)) sizes[position.id] = position.size;
  std::set<std::uint32_t> quarantined_hints;  // hints a segment finding already accounts for
  if (!manifest_problem.empty())
    add({.file = std::string(filename::kManifest),
         .kind = FindingKind::bad_manifest,
         .detail = manifest_problem + " (Store::open refuses the store)",
         .action = "write a new manifest listing the datafiles present; the old one to quarantine"},
        [&] { move_to_quarantine(store, quarantine.get(), std::string(filename::kManifest)); });
  if (manifest_ok) {
    const SegmentCheck check = check_segments(*listed, sizes);
    for (const SegmentProblem& p : check.problems) {
      Finding f{.file = p.file, .offset = p.offset, .detail = p.describe() + " (Store::open refuses the store)"};
      std::function<void()> repair;
      if (p.kind == SegmentProblem::Kind::missing) {
        f.kind = FindingKind::missing_segment;
        const std::string hint = filename::hint(p.id);
        f.action = "drop it from the manifest";
        if (store.exists(hint)) {
          f.action += "; its hint file (what is left of it) to quarantine";
          quarantined_hints.insert(p.id);
          repair = [&, hint] { move_to_quarantine(store, quarantine.get(), hint); };
        }
      } else {
        f.kind = p.kind == SegmentProblem::Kind::truncated ? FindingKind::truncated_segment
                                                           : FindingKind::grown_segment;
        f.length = p.kind == SegmentProblem::Kind::truncated ? p.expected - p.actual : p.actual - p.expected;
        f.action = "list it in the manifest with the length it has now";
      }
      add(std::move(f), std::move(repair));
    }
    for (const std::uint32_t id : check.unlisted) {
      const std::string name = filename::data(id);
      ++report.files;
      const bool empty = sizes.at(id) == 0;
      add({.file = name,
           .kind = empty ? FindingKind::empty_file : FindingKind::unlisted_datafile,
           .detail = empty ? "datafile is empty (no file header), and not listed in the manifest"
                           : "not listed in the manifest, so not part of the store (left by an "
                             "interrupted merge or segment creation); Store::open ignores it",
           .action = "move the file (and its hint) to quarantine"},
          [&, id, name] {
            move_to_quarantine(store, quarantine.get(), name);
            if (store.exists(filename::hint(id))) move_to_quarantine(store, quarantine.get(), filename::hint(id));
          });
      quarantined_hints.insert(id);
    }
  } else {
    std::vector<std::uint32_t> ids;
    for (const auto& [id, size] : sizes) ids.push_back(id);
    for (std::size_t i = 1; i < ids.size(); ++i) {
      if (ids[i] != ids[i - 1] + 1)
        add({.file = filename::data(ids[i]),
             .kind = FindingKind::segment_gap,
             .detail = "segments " + std::to_string(ids[i - 1] + 1) + ".." + std::to_string(ids[i] - 1) +
                       " are absent: a merge's gap, or lost files (the store has no manifest to "
                       "tell; its next writer open writes one)",
             .action = "nothing"});
    }
  }

  // What each key shows now, and what it would show once the damage is dropped.
  const LiveView before = live_view(store, segments, now_micros());
  std::vector<ReplaySegment> kept;
  for (const auto& seg : segments)
    if (seg.present) kept.push_back(seg);
  const LiveView after = live_view(store, kept, now_micros(), /*attribute=*/false);

  std::map<std::uint32_t, DatafileAnalysis> damaged;
  for (const ReplaySegment& seg : kept) {
    ++report.files;
    DatafileAnalysis a =
        analyse_datafile(store, seg.name, seg.id, seg.tail_allowed, options.recovery);
    report.records += a.records;
    report.bytes += a.size;
    const bool any = !a.findings.empty();
    for (std::size_t i = 0; i < a.findings.size(); ++i) {
      std::function<void()> repair;
      if (i == 0 && any) {  // one rewrite repairs every finding of the file
        repair = [&, seg] { repair_datafile(store, quarantine.get(), seg.name, seg.id, damaged.at(seg.id)); };
      }
      add(std::move(a.findings[i]), std::move(repair));
    }
    if (any) {
      a.findings.clear();
      damaged.emplace(seg.id, std::move(a));
    }
  }
  add_reverted_keys(before, after, report);
  const bool reverts = !before.damaged.empty();
  if (options.repair && reverts && !options.accept_reverted) {
    report.refused = "the repair would change what some keys show (reverted_key findings); "
                     "nothing was changed: rerun with --accept-reverted to apply it";
    return report;
  }

  if (options.repair) {
    // Files may change (hints are rebuilt below): the next open must not
    // take its keys from a snapshot of before.
    keydir_snapshot::remove(store);
    for (auto& [index, repair] : repairs) {
      repair();
      report.findings[index].repaired = true;
    }
    for (auto& f : report.findings) {
      if (f.kind == FindingKind::reverted_key) f.repaired = true;
      // A datafile's findings are all repaired by its one rewrite.
      if (damaged.contains(filename::parse(f.file).segment_id) &&
          filename::parse(f.file).kind == filename::Kind::data)
        f.repaired = true;
      if (f.kind == FindingKind::missing_segment || f.kind == FindingKind::truncated_segment ||
          f.kind == FindingKind::grown_segment || f.kind == FindingKind::bad_manifest)
        f.repaired = true;  // by the manifest written below
    }
  }

  // Hint files, checked by the engine's own checker against their datafiles
  // (as repaired, when repairing). A bad one is only slower to open with
  // (Store::open scans the datafile instead), but it is rebuilt.
  std::map<std::uint32_t, std::uint64_t> data_sizes;
  for (const auto& seg : kept)
    if (store.exists(seg.name)) data_sizes[seg.id] = store.open(seg.name, OpenMode::read_only)->size();
  std::set<std::uint32_t> judged;  // one finding per hint file
  for (const auto& [id, name] : hints) {
    if (quarantined_hints.contains(id)) continue;
    ++report.files;
    judged.insert(id);
    if (!data_sizes.contains(id)) {
      Finding f{.file = name,
                .kind = FindingKind::orphan_hint,
                .detail = "hint file without its datafile (Store::open ignores it)",
                .action = "move the hint file to quarantine"};
      if (options.repair) {
        move_to_quarantine(store, quarantine.get(), name);
        f.repaired = true;
      }
      report.findings.push_back(std::move(f));
      continue;
    }
    std::string bytes;
    std::string problem;
    try {
      bytes = read_all(store, name);
      const HintCheck check = check_hint_image(store, id, format::as_bytes(bytes));
      if (check.problem != nullptr) problem = check.problem;
    } catch (const IoError& e) {
      problem = std::string("unreadable: ") + e.what();
    }
    if (problem.empty()) continue;
    const bool readable = !problem.starts_with("unreadable");
    Finding f{.file = name,
              .length = bytes.size(),
              .kind = FindingKind::bad_hint,
              .detail = problem + " (Store::open ignores it and scans the datafile)",
              .action = readable ? "rebuild the hint file from its datafile; the old one to quarantine"
                                 : "rebuild the hint file from its datafile (the unreadable one is "
                                   "replaced: it cannot be copied)"};
    if (options.repair) {
      if (readable) move_to_quarantine(store, quarantine.get(), name);
      hint::write(store, id, *store.open(filename::data(id), OpenMode::read_only));
      f.repaired = true;
    }
    report.findings.push_back(std::move(f));
  }
  // Every sealed datafile should have a hint; the engine writes the missing
  // ones in the background after open.
  for (const auto& seg : kept) {
    if (seg.tail_allowed || judged.contains(seg.id) || !data_sizes.contains(seg.id)) continue;
    Finding f{.file = filename::hint(seg.id),
              .kind = FindingKind::missing_hint,
              .detail = "sealed datafile " + seg.name + " has no hint file (Store::open scans it instead)",
              .action = "rebuild the hint file from its datafile"};
    if (options.repair) {
      hint::write(store, seg.id, *store.open(seg.name, OpenMode::read_only));
      f.repaired = true;
    }
    report.findings.push_back(std::move(f));
  }

  // The manifest, as the repaired files are: every listed (or, without a
  // valid manifest, every) datafile still present, sealed ones at their size.
  if (options.repair && (listed || !manifest_problem.empty())) {
    Manifest next;
    next.generation = manifest_ok ? listed->generation + 1 : 1;
    for (const auto& seg : kept) {
      if (!store.exists(seg.name)) continue;
      const std::uint64_t size = store.open(seg.name, OpenMode::read_only)->size();
      // Open-ended as listed: the active one, or one whose background sync
      // was still to come (without a manifest, the newest is the active one).
      const ManifestEntry* was = manifest_ok ? listed->find(seg.id) : nullptr;
      const bool active = was != nullptr ? was->active : seg.tail_allowed;
      const bool unsynced = was != nullptr && was->unsynced;
      next.segments.push_back({.id = seg.id,
                               .active = active,
                               .length = active || unsynced ? format::kFileHeaderSize : size,
                               .unsynced = unsynced});
    }
    std::sort(next.segments.begin(), next.segments.end(),
              [](const ManifestEntry& a, const ManifestEntry& b) { return a.id < b.id; });
    if (!manifest_ok || !listed->same_segments(next)) manifest::write(store, next);
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
  Quarantine quarantine([path] { return open_directory("file", path + "/quarantine", true); });
  return fsck_store(*source.directory, quarantine, options);
}

void write_report_text(const FsckReport& report, std::ostream& out) {
  for (const auto& f : report.findings) {
    out << (f.problem() ? "PROBLEM " : "note    ") << f.file << " @" << f.offset;
    if (f.length) out << " length=" << f.length;
    out << " " << finding_kind_name(f.kind) << ": ";
    if (f.kind == FindingKind::reverted_key && !f.key.empty()) out << "key \"" << escape_text(f.key) << "\": ";
    out << f.detail << " -- " << (f.repaired ? "repaired: " : "repair: ")
        << f.action << '\n';
  }
  out << "summary: " << report.target << ": files=" << report.files
      << " records=" << report.records << " bytes=" << report.bytes
      << " problems=" << report.problems();
  if (report.repair) out << " repaired=" << report.repaired();
  out << (report.problems() == 0  ? " -- clean"
          : !report.refused.empty() ? " -- not repaired: " + report.refused
          : report.repair           ? " -- repaired"
                                    : " -- run pyk-fsck --repair to fix")
      << '\n';
}

void write_report_json(const FsckReport& report, std::ostream& out) {
  out << "{\"target\":" << json_string(report.target) << ",\"files\":" << report.files
      << ",\"records\":" << report.records << ",\"bytes\":" << report.bytes
      << ",\"problems\":" << report.problems() << ",\"repair\":" << (report.repair ? "true" : "false")
      << ",\"repaired\":" << report.repaired() << ",\"refused\":" << json_string(report.refused)
      << ",\"findings\":[";
  for (std::size_t i = 0; i < report.findings.size(); ++i)
    out << (i ? "," : "") << json_finding(report.findings[i]);
  out << "]}\n";
}

}  // namespace pyk::tools
