#include "tools/lib/fsck.h"

#include <algorithm>
#include <array>
#include <map>
#include <optional>
#include <set>
#include <ostream>

#include "core/error.h"
#include "core/filename.h"
#include "core/format.h"
#include "core/hint_file.h"
#include "core/record_reader.h"
#include "core/replay_order.h"
#include "tools/lib/hints.h"
#include "tools/lib/python_pyk.h"
#include "tools/lib/source.h"
#include "tools/lib/text.h"

namespace pyk::tools {
namespace {

using Range = std::pair<std::uint64_t, std::uint64_t>;  // [from, to)

// What one datafile holds: the byte ranges worth keeping (whole records and
// complete batches) and what is wrong with the rest.
struct Analysis {
  std::uint64_t size = 0;
  bool header_ok = false;
  std::uint32_t merge_rank = 0;  // from a good header; a rebuilt file keeps it
  std::vector<Range> kept;
  std::vector<Finding> findings;
  std::uint64_t records = 0;
};

Finding problem(const std::string& file, std::uint64_t offset, std::uint64_t length,
                std::string kind, std::string detail, std::string action) {
  return {file, offset, length, std::move(kind), std::move(detail), std::move(action), true, false};
}

Analysis analyse_datafile(Directory& directory, const std::string& name, std::uint32_t id,
                          bool newest) {
  Analysis a;
  auto segment = directory.open(name, OpenMode::read_only);
  a.size = segment->size();
  const std::string salvage = "copy the valid records into a new file in its place; bad bytes to quarantine";
  if (a.size == 0) {
    a.findings.push_back(problem(name, 0, 0, "empty_file", "datafile is empty (no file header)",
                                 "move the file to quarantine"));
    return a;
  }
  std::array<std::byte, format::kFileHeaderSize> header_bytes{};
  const std::size_t present = std::min<std::uint64_t>(a.size, format::kFileHeaderSize);
  segment->read_into(0, std::span(header_bytes).first(present));
  format::FileHeader header;
  const auto status = format::decode_file_header(std::span(header_bytes).first(present), header);
  a.header_ok = status == format::FileHeaderStatus::ok && header.magic == format::kDataMagic &&
                header.segment_id == id;
  if (a.header_ok) a.merge_rank = header.merge_rank;
  if (!a.header_ok) {
    std::string why = status != format::FileHeaderStatus::ok ? format::describe(status)
                      : header.magic != format::kDataMagic
                          ? "hint file header in a datafile"
                          : "segment id " + std::to_string(header.segment_id) +
                                " in the header does not match the file name";
    a.findings.push_back(problem(name, 0, present,
                                 status == format::FileHeaderStatus::bad_magic ? "bad_magic" : "bad_header",
                                 "bad file header: " + why,
                                 a.size <= format::kFileHeaderSize
                                     ? "move the file to quarantine"
                                     : "write a new header and keep the valid records; the old header to "
                                       "quarantine (a merge rank it held is lost: the file then replays by its id)"));
    if (a.size <= format::kFileHeaderSize) return a;
  }

  struct Batch {
    std::uint64_t start, end, left;
  };
  std::optional<Batch> batch;
  auto drop_batch = [&](std::uint64_t until, const char* why) {
    a.findings.push_back(problem(name, batch->start, until - batch->start, "incomplete_batch", why,
                                 "move the batch's records to quarantine (a batch applies whole or not at all)"));
    batch.reset();
  };
  RecordReader reader(*segment, format::kFileHeaderSize);
  for (;;) {
    const auto step = reader.next();
    if (step == RecordReader::Step::end) break;
    if (step == RecordReader::Step::damage) {
      const Damage& d = reader.damage();
      if (batch) drop_batch(d.offset, "batch interrupted by damage");
      if (d.at_tail) {
        a.findings.push_back(problem(
            name, d.offset, d.length, "torn_tail",
            d.reason + (newest ? " (Store::open cuts this tail)" : " (not the newest segment: Store::open refuses)"),
            "cut the tail; the bytes to quarantine"));
      } else {
        a.findings.push_back(problem(name, d.offset, d.length, "damaged_region", d.reason, salvage));
      }
      continue;
    }
    const Record& r = reader.record();
    ++a.records;
    if (r.header.type == format::RecordType::batch) {
      if (batch) drop_batch(r.offset, "batch followed by another batch before its end");
      const auto* v = reinterpret_cast<const std::byte*>(r.value.data());
      batch = Batch{r.offset, r.offset + r.size() + format::load_le<std::uint64_t>(v + 8),
                    format::load_le<std::uint32_t>(v)};
      if (batch->left == 0) {
        if (reader.valid_end() == batch->end) a.kept.emplace_back(r.offset, reader.valid_end());
        else drop_batch(reader.valid_end(), "empty batch with a nonzero length");
        batch.reset();
      }
      continue;
    }
    if (!batch) {
      a.kept.emplace_back(r.offset, reader.valid_end());
      continue;
    }
    if (--batch->left == 0) {
      if (reader.valid_end() == batch->end) {
        a.kept.emplace_back(batch->start, batch->end);
        batch.reset();
      } else {
        drop_batch(reader.valid_end(), "batch length does not match its records");
      }
    }
  }
  if (batch) drop_batch(reader.valid_end(), "batch cut short at the end of the data");
  return a;
}

// A name for `base` in the quarantine folder that is not taken yet.
std::string free_name(Directory& quarantine, const std::string& base) {
  if (!quarantine.exists(base)) return base;
  for (int i = 1;; ++i) {
    std::string name = base + "." + std::to_string(i);
    if (!quarantine.exists(name)) return name;
  }
}

void write_file(Directory& directory, const std::string& name, std::string_view bytes) {
  auto segment = directory.create(name, bytes.size() + 1);
  if (!bytes.empty()) segment->append(format::as_bytes(bytes));
  segment->seal();
}

void quarantine_bytes(Directory& quarantine, const std::string& base, std::string_view bytes) {
  write_file(quarantine, free_name(quarantine, base), bytes);
  quarantine.sync();
}

void move_to_quarantine(Directory& store, Directory& quarantine, const std::string& name) {
  quarantine_bytes(quarantine, name, read_all(store, name));
  store.remove(name);
  store.sync();
}

void repair_datafile(Directory& store, Directory& quarantine, const std::string& name,
                     std::uint32_t id, const Analysis& a) {
  const std::string bytes = read_all(store, name);
  // Bytes not kept, except the file header when it is fine.
  std::vector<Range> dropped;
  std::uint64_t at = a.header_ok ? format::kFileHeaderSize : 0;
  for (const auto& [from, to] : a.kept) {
    if (from > at) dropped.emplace_back(at, from);
    at = to;
  }
  if (at < bytes.size()) dropped.emplace_back(at, bytes.size());

  if (a.kept.empty() && !a.header_ok) {
    move_to_quarantine(store, quarantine, name);
    return;
  }
  for (const auto& [from, to] : dropped)
    quarantine_bytes(quarantine, name + "." + std::to_string(from) + "-" + std::to_string(to),
                     std::string_view(bytes).substr(from, to - from));
  if (a.header_ok && dropped.size() == 1 && dropped.front().second == bytes.size()) {
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

std::string json_finding(const Finding& f) {
  return "{\"file\":" + json_string(f.file) + ",\"offset\":" + std::to_string(f.offset) +
         ",\"length\":" + std::to_string(f.length) + ",\"kind\":\"" + f.kind +
         "\",\"detail\":" + json_string(f.detail) + ",\"action\":" + json_string(f.action) +
         ",\"problem\":" + (f.problem ? "true" : "false") +
         ",\"repaired\":" + (f.repaired ? "true" : "false") + "}";
}

}  // namespace

std::uint64_t FsckReport::problems() const {
  return std::count_if(findings.begin(), findings.end(), [](const Finding& f) { return f.problem; });
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
      report.findings.push_back({std::string(filename::kLock), 0, 0, "stale_lock",
                                 "lock file present but held by no process (its writer exited; "
                                 "the lock died with it, so it is harmless)",
                                 "nothing", false, false});
    } catch (const LockError&) {
      report.findings.push_back({std::string(filename::kLock), 0, 0, "store_in_use",
                                 "a live process holds the store's lock; its newest segment may be "
                                 "growing while fsck reads it",
                                 "none: --repair refuses while the store is open", false, false});
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
        Finding f = problem(name, 0, 0, "temp_file",
                            "unfinished output of an interrupted merge or hint write "
                            "(Store::open deletes it)",
                            "move the file to quarantine");
        // First, so that rewriting a datafile or a hint never reuses (deletes) its temp name.
        if (options.repair) {
          move_to_quarantine(store, *quarantine, name);
          f.repaired = true;
        }
        report.findings.push_back(std::move(f));
        break;
      }
      case filename::Kind::other:
        report.findings.push_back({name, 0, 0, "stray_file", "not a file of a pyk store",
                                   "nothing (not ours to touch)", false, false});
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
      report.findings.push_back({filename::data(ids[i]), 0, 0, "segment_gap",
                                 "segments " + std::to_string(ids[i - 1] + 1) + ".." +
                                     std::to_string(ids[i] - 1) +
                                     " are missing (normal after a merge)",
                                 "nothing", false, false});
  }

  std::map<std::uint32_t, std::uint64_t> data_sizes;
  for (std::size_t i = 0; i < order.size(); ++i) {
    const std::uint32_t id = order[i].id;
    const std::string name = filename::data(id);
    ++report.files;
    Analysis a = analyse_datafile(store, name, id, i + 1 == order.size());
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
      Finding f = problem(name, 0, 0, "orphan_hint",
                          "hint file without its datafile (Store::open removes it)",
                          "move the hint file to quarantine");
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
    Finding f = problem(name, 0, bytes.size(), "bad_hint",
                        std::string(check.problem) + " (Store::open ignores it and scans the datafile)",
                        "rebuild the hint file from its datafile; the old one to quarantine");
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
    Finding f{filename::hint(id), 0, 0, "missing_hint",
              "sealed datafile " + filename::data(id) +
                  " has no hint file (Store::open scans it instead)",
              "rebuild the hint file from its datafile", false, false};
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
    report.findings.push_back({name, 0, 0, "python_pyk_file",
                               "a file of the Python pyk (no magic; its first record decodes "
                               "with a matching CRC-32)",
                               "none; bring it in with: pyk import --from-python-pyk FILE", false,
                               false});
    python_pyk::Reader reader(bytes);
    for (auto step = reader.next(); step != python_pyk::Reader::Step::end; step = reader.next()) {
      if (step == python_pyk::Reader::Step::damage) {
        const auto& d = reader.damage();
        report.findings.push_back(problem(name, d.offset, d.length,
                                          d.at_tail ? "torn_tail" : "damaged_region", d.reason,
                                          "none (pyk import skips it)"));
        continue;
      }
      ++report.records;
      if (reader.record().char_lengths)
        report.findings.push_back(problem(
            name, reader.record().offset, reader.record().size, "python_char_lengths",
            "key/value lengths counted in characters, not bytes (non-ASCII text)",
            "none (pyk import reads the record correctly)"));
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
      report.findings.push_back(problem(
          name, 0, bytes.size(), "bad_hint",
          std::string(check.problem) +
              (check.against_datafile ? "" : " (no datafile next to it: checked against the size it claims)"),
          "rebuild the hint file: pyk-fsck --repair on its store directory"));
    return report;
  }
  Analysis a = analyse_datafile(directory, name, parsed.kind == filename::Kind::data ? parsed.segment_id : 0, true);
  // Outside a store the file name may not carry the segment id: trust the header's.
  if (parsed.kind != filename::Kind::data && !a.findings.empty() && a.findings.front().kind == "bad_header" &&
      a.findings.front().detail.find("does not match the file name") != std::string::npos)
    a.findings.erase(a.findings.begin());
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
    out << (f.problem ? "PROBLEM " : "note    ") << f.file << " @" << f.offset;
    if (f.length) out << " length=" << f.length;
    out << " " << f.kind << ": " << f.detail << " -- " << (f.repaired ? "repaired: " : "repair: ")
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
