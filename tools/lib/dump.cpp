#include "tools/lib/dump.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <map>

#include "core/file_header.h"
#include "core/filename.h"
#include "core/format.h"
#include "core/record_reader.h"
#include "tools/lib/dump_sink.h"
#include "tools/lib/hints.h"
#include "tools/lib/live_set.h"
#include "tools/lib/python_pyk.h"
#include "tools/lib/source.h"

namespace pyk::tools {
namespace {

std::uint64_t now_of(const DumpOptions& options) {
  if (options.now_micros != 0) return options.now_micros;
  using namespace std::chrono;
  return duration_cast<microseconds>(system_clock::now().time_since_epoch()).count();
}

const char* type_name(format::RecordType type) {
  switch (type) {
    case format::RecordType::value: return "value";
    case format::RecordType::tombstone: return "tombstone";
    case format::RecordType::batch: return "batch";
    default: return "unknown";
  }
}

bool wanted_key(const DumpOptions& options, std::string_view key) {
  return !options.key || *options.key == key;
}

// Counts a bad region and shows it.
void report_damage(const DamageLine& line, DumpSink& sink, DumpSummary& summary) {
  ++summary.bad_regions;
  summary.bad_bytes += line.length;
  sink.damage(line);
}

void dump_python(std::string_view name, std::string_view bytes, const DumpOptions& options,
                 DumpSink& sink, DumpSummary& summary) {
  sink.file({.file = name, .python_pyk = true, .file_size = bytes.size()});
  // Live records: the newest record of each key, if not deleted or expired.
  std::map<std::string_view, std::uint64_t> newest;
  if (options.live) {
    python_pyk::Reader pass(bytes);
    for (auto s = pass.next(); s != python_pyk::Reader::Step::end; s = pass.next())
      if (s == python_pyk::Reader::Step::record) newest[pass.record().key] = pass.record().offset;
  }
  const std::uint64_t now_s = now_of(options) / 1'000'000;
  python_pyk::Reader reader(bytes);
  for (auto step = reader.next(); step != python_pyk::Reader::Step::end; step = reader.next()) {
    if (step == python_pyk::Reader::Step::damage) {
      const auto& d = reader.damage();
      report_damage({.file = name, .offset = d.offset, .length = d.length, .reason = d.reason,
                     .at_tail = d.at_tail, .raw = bytes.substr(d.offset, d.length)},
                    sink, summary);
      continue;
    }
    const auto& r = reader.record();
    if (r.char_lengths) ++summary.char_length_records;
    if (!wanted_key(options, r.key)) continue;
    if (options.live && (newest[r.key] != r.offset || r.deleted ||
                         (r.expiry != 0 && r.expiry <= now_s)))
      continue;
    ++summary.records;
    ++(r.deleted ? summary.tombstones : summary.values);
    summary.bytes += r.size;
    sink.record({.file = name,
                 .offset = r.offset,
                 .size = r.size,
                 .type = r.deleted ? "tombstone" : "value",
                 .timestamp_us = std::uint64_t{r.write_time} * 1'000'000,
                 .expiry_us = std::uint64_t{r.expiry} * 1'000'000,
                 .key = r.key,
                 .value = r.value,
                 .char_lengths = r.char_lengths,
                 .raw = bytes.substr(r.offset, r.size)});
  }
}

const char* hint_type_name(format::HintType type) {
  switch (type) {
    case format::HintType::value: return "value";
    case format::HintType::tombstone: return "tombstone";
    case format::HintType::end: return "end";
    default: return "unknown";
  }
}

// One line per entry of hint file `name` (decoded by format::decode_hint_entry,
// the engine's decoder), then the verdict of hint::check against its datafile.
// Hint entries have no resynchronisation point: an entry that does not decode
// ends the walk. `live`: only entries pointing at a live record.
void dump_hint(Directory& directory, const std::string& name, const DumpOptions& options,
               const LiveSet* live, DumpSink& sink, DumpSummary& summary) {
  const std::string image = read_all(directory, name);
  const std::span<const std::byte> bytes = format::as_bytes(image);
  const std::uint32_t id = hint_segment_id(name, bytes);
  const std::string datafile = filename::data(id);
  bool bad = false;
  std::uint64_t offset = format::kFileHeaderSize;
  while (offset < bytes.size()) {
    const auto rest = bytes.subspan(offset);
    format::HintEntry e;
    std::size_t size = 0;
    if (const char* why = format::decode_hint_entry(rest, e, size, /*verify_crc=*/false)) {
      bad = true;
      report_damage({.file = name, .offset = offset, .length = rest.size(), .reason = why,
                     .at_tail = true,
                     .raw = options.hex ? std::string_view(image).substr(offset, kMaxHexDamage) : ""},
                    sink, summary);
      break;
    }
    format::HintEntry checked;
    std::size_t checked_size = 0;
    const bool crc_ok = format::decode_hint_entry(rest, checked, checked_size) == nullptr;
    if (!crc_ok) {
      bad = true;
      ++summary.bad_regions;
      summary.bad_bytes += size;
    }
    const bool is_end = e.type == format::HintType::end;
    const bool shown = is_end ? !options.key && !options.live
                              : wanted_key(options, e.key) &&
                                    (!live || live->contains({datafile, e.offset}));
    if (shown) {
      ++summary.records;
      summary.bytes += size;
      HintLine line{.file = name, .offset = offset, .size = size, .entry = hint_type_name(e.type),
                    .is_end = is_end, .crc_ok = crc_ok,
                    .raw = std::string_view(image).substr(offset, size)};
      if (is_end) {
        line.data_size = e.offset;  // the end entry's fields hold the counts (format.h)
        line.entries = e.count;
      } else {
        line.key = e.key;
        line.datafile = datafile;
        line.record_offset = e.offset;
        line.record_size = e.record_size;
        line.expiry_us = e.expiry;
      }
      sink.hint_entry(line);
    }
    offset += size;
    if (is_end) break;
  }
  // The whole file, as Store::open judges it: hint::check against the datafile.
  const HintCheck check = check_hint_image(directory, id, bytes);
  if (check.problem != nullptr && !bad) {
    ++summary.bad_regions;
    summary.bad_bytes += bytes.size();
  }
  const std::string against = check.against_datafile
                                  ? datafile
                                  : "the size it claims (no " + datafile + " next to it)";
  sink.hint_verdict({.file = name, .problem = check.problem, .checked_against = against,
                     .entries = check.entries});
}

// The header a file named `name` should have: a hint's or a datafile's, for
// the segment its name gives (none outside a store's naming: 0).
FileHeaderCheck judge_header(const Segment& segment, const std::string& name) {
  const auto parsed = filename::parse(name);
  const bool hint = parsed.kind == filename::Kind::hint;
  const bool named = hint || parsed.kind == filename::Kind::data;
  return check_file_header(segment, hint ? format::kHintMagic : format::kDataMagic,
                           named ? parsed.segment_id : 0);
}

// `tail_allowed`: the store's active segment, whose torn tail Store::open
// cuts; --live leaves it out like the engine does.
void dump_datafile(Directory& directory, const std::string& name, const DumpOptions& options,
                   const LiveSet* live, DumpSink& sink, DumpSummary& summary,
                   bool tail_allowed = false) {
  auto segment = directory.open(name, OpenMode::read_only);
  const std::uint64_t size = segment->size();
  auto raw = [&](std::uint64_t offset, std::uint64_t length) {
    std::string bytes(options.hex ? length : 0, '\0');
    if (!bytes.empty()) segment->read_into(offset, std::as_writable_bytes(std::span(bytes)));
    return bytes;
  };
  // A header of the wrong kind or id still shows what the file holds; only
  // bytes that are no header at all are damage here (pyk-fsck judges the rest).
  const FileHeaderCheck header = judge_header(*segment, name);
  if (!header.decoded()) {
    const std::string bytes = raw(0, std::min<std::uint64_t>(header.present, kMaxHexDamage));
    report_damage({.file = name, .offset = 0, .length = header.present,
                   .reason = "bad file header: " + header.describe(),
                   .at_tail = size <= format::kFileHeaderSize, .raw = bytes},
                  sink, summary);
    if (size <= format::kFileHeaderSize) return;
  } else {
    sink.file({.file = name, .magic = header.header.magic, .segment_id = header.header.segment_id,
               .file_size = size});
  }
  if (header.decoded() && header.header.magic == format::kHintMagic) {
    segment.reset();
    dump_hint(directory, name, options, live, sink, summary);
    return;
  }
  RecordReader reader(*segment, format::kFileHeaderSize);
  for (;;) {
    const auto step = reader.next();
    if (step == RecordReader::Step::end) break;
    if (step == RecordReader::Step::damage) {
      const auto& d = reader.damage();
      if (live && tail_allowed && d.at_tail) {  // counted, but no line: the store cuts it, so
        ++summary.bad_regions;                  // an export (and its import) lacks nothing
        summary.bad_bytes += d.length;
        continue;
      }
      const std::string bytes = raw(d.offset, std::min<std::uint64_t>(d.length, kMaxHexDamage));
      report_damage({.file = name, .offset = d.offset, .length = d.length, .reason = d.reason,
                     .at_tail = d.at_tail, .raw = bytes},
                    sink, summary);
      continue;
    }
    const Record& r = reader.record();
    const bool is_batch = r.header.type == format::RecordType::batch;
    if (options.key && (is_batch || !wanted_key(options, r.key))) continue;
    if (live && !live->contains({name, r.offset})) continue;
    const std::string bytes = raw(r.offset, r.size());
    RecordLine line{.file = name, .offset = r.offset, .size = r.size(),
                    .type = type_name(r.header.type), .timestamp_us = r.header.timestamp,
                    .expiry_us = r.header.expiry, .key = r.key, .value = r.value, .raw = bytes};
    if (is_batch) {
      const format::BatchHeader batch = format::decode_batch_header(r.value);
      line.has_key = false;
      line.batch_records = batch.count;
      line.batch_bytes = batch.length;
      ++summary.batches;
    } else {
      ++(r.header.type == format::RecordType::value ? summary.values : summary.tombstones);
    }
    ++summary.records;
    summary.bytes += r.size();
    sink.record(line);
  }
}

void dump_file(Directory& directory, const std::string& name, const DumpOptions& options,
               DumpSink& sink, DumpSummary& summary) {
  ++summary.files;
  {
    auto segment = directory.open(name, OpenMode::read_only);
    std::array<std::byte, 8> magic{};
    if (segment->size() >= python_pyk::kHeaderSize) {
      segment->read_into(0, magic);
      const std::string_view m(reinterpret_cast<const char*>(magic.data()), magic.size());
      if (m != format::kDataMagic && m != format::kHintMagic) {
        const std::string bytes = read_all(directory, name);
        if (python_pyk::looks_like_python_pyk(bytes)) {
          dump_python(name, bytes, options, sink, summary);
          return;
        }
      }
    }
  }
  // --live on a lone file: what its own records leave live (a hint file: its datafile's).
  std::string replayed = name;
  if (filename::parse(name).kind == filename::Kind::hint) {
    replayed = filename::data(filename::parse(name).segment_id);
    if (!directory.exists(replayed)) replayed.clear();
  }
  LiveSet live;
  if (options.live && !replayed.empty()) live = live_records(directory, {replayed}, now_of(options));
  dump_datafile(directory, name, options, options.live ? &live : nullptr, sink, summary);
}

void dump_store(Directory& directory, const DumpOptions& options, DumpSink& sink,
                DumpSummary& summary) {
  const std::vector<ReplaySegment> segments = store_segments(directory);
  LiveView view;
  if (options.live) view = live_view(directory, segments, now_of(options));
  const LiveSet* shown = options.live ? &view.live : nullptr;
  for (const auto& s : segments) {
    if (!s.present) {  // listed in the manifest, gone
      report_damage({.file = s.name, .reason = "listed in the manifest but missing", .at_tail = true},
                    sink, summary);
      continue;
    }
    ++summary.files;
    dump_datafile(directory, s.name, options, shown, sink, summary, s.tail_allowed);
    if (s.listed_length && directory.open(s.name, OpenMode::read_only)->size() < *s.listed_length) {
      const std::uint64_t size = directory.open(s.name, OpenMode::read_only)->size();
      report_damage({.file = s.name, .offset = size, .length = *s.listed_length - size,
                     .reason = "cut off: shorter than the manifest lists", .at_tail = true},
                    sink, summary);
    }
    if (!options.hints) continue;
    const std::string hint = filename::hint(s.id);
    if (!directory.exists(hint)) continue;
    ++summary.files;
    dump_datafile(directory, hint, options, shown, sink, summary);
  }
  for (const auto& [key, d] : view.damaged) {
    if (!wanted_key(options, key)) continue;
    ++summary.damaged_keys;
    sink.damaged_key({.file = d.file, .offset = d.offset, .key = key, .reason = d.reason});
  }
  summary.unattributed_damage += view.unattributed;
  if (!options.hints) return;
  std::vector<std::string> orphans;  // hint files without a datafile (Store::open removes them)
  for (const auto& name : directory.list()) {
    const auto parsed = filename::parse(name);
    if (parsed.kind == filename::Kind::hint && !directory.exists(filename::data(parsed.segment_id)))
      orphans.push_back(name);
  }
  std::sort(orphans.begin(), orphans.end());
  for (const auto& name : orphans) {
    ++summary.files;
    dump_datafile(directory, name, options, shown, sink, summary);
  }
}

}  // namespace

void dump_file(Directory& directory, const std::string& name, const DumpOptions& options,
               std::ostream& out, DumpSummary& summary) {
  dump_file(directory, name, options, *make_dump_sink(options, out), summary);
}

void dump_store(Directory& directory, const DumpOptions& options, std::ostream& out,
                DumpSummary& summary) {
  dump_store(directory, options, *make_dump_sink(options, out), summary);
}

void write_summary(const DumpSummary& summary, const DumpOptions& options, std::ostream& out) {
  make_dump_sink(options, out)->summary(summary);
}

DumpSummary dump_path(const std::string& path, const DumpOptions& options, std::ostream& out) {
  const Source source = open_source(path);
  const auto sink = make_dump_sink(options, out);
  DumpSummary summary;
  if (source.file.empty()) dump_store(*source.directory, options, *sink, summary);
  else dump_file(*source.directory, source.file, options, *sink, summary);
  sink->summary(summary);
  return summary;
}

}  // namespace pyk::tools
