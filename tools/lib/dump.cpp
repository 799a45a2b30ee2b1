#include "tools/lib/dump.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <map>
#include <ostream>
#include <set>

#include "core/filename.h"
#include "core/format.h"
#include "core/record_reader.h"
#include "tools/lib/hints.h"
#include "tools/lib/python_pyk.h"
#include "tools/lib/source.h"
#include "tools/lib/text.h"

namespace pyk::tools {
namespace {

constexpr std::size_t kMaxHexDamage = 256;

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

// "key":"..." for UTF-8 bytes, "key_b64":"..." otherwise.
std::string json_bytes_field(std::string_view name, std::string_view bytes) {
  if (is_valid_utf8(bytes)) return "\"" + std::string(name) + "\":" + json_string(bytes);
  return "\"" + std::string(name) + "_b64\":\"" + base64_encode(bytes) + "\"";
}

// What one shown record looks like, whatever format it came from.
struct Shown {
  std::string_view file;
  std::uint64_t offset = 0, size = 0;
  const char* type = "value";
  std::uint64_t timestamp_us = 0, expiry_us = 0;
  std::string_view key, value;
  bool has_key = true;
  std::uint64_t batch_records = 0, batch_bytes = 0;
  bool char_lengths = false;
  std::string_view raw;  // for --hex
};

void show_record(const Shown& r, const DumpOptions& options, std::ostream& out) {
  const bool cut = options.max_value != 0 && r.value.size() > options.max_value;
  const std::string_view value = cut ? r.value.substr(0, options.max_value) : r.value;
  if (options.json) {
    out << "{\"file\":" << json_string(r.file) << ",\"offset\":" << r.offset
        << ",\"size\":" << r.size << ",\"type\":\"" << r.type << "\",\"timestamp_us\":"
        << r.timestamp_us << ",\"time\":\"" << iso_time_micros(r.timestamp_us)
        << "\",\"expiry_us\":" << r.expiry_us << ",\"expiry\":"
        << (r.expiry_us ? "\"" + iso_time_micros(r.expiry_us) + "\"" : std::string("null"));
    if (r.has_key) {
      out << ',' << json_bytes_field("key", r.key) << ',' << json_bytes_field("value", value)
          << ",\"value_size\":" << r.value.size();
      if (cut) out << ",\"value_truncated\":true";
    } else {
      out << ",\"batch_records\":" << r.batch_records << ",\"batch_bytes\":" << r.batch_bytes;
    }
    if (r.char_lengths) out << ",\"char_lengths\":true";
    out << ",\"crc_ok\":true";
    if (options.hex) {
      out << ",\"hex\":\"";
      static constexpr char digits[] = "0123456789abcdef";
      for (unsigned char c : r.raw) out << digits[c >> 4] << digits[c & 15];
      out << '"';
    }
    out << "}\n";
    return;
  }
  out << r.file << " @" << r.offset << " size=" << r.size << ' ' << r.type
      << " time=" << iso_time_micros(r.timestamp_us)
      << " expiry=" << (r.expiry_us ? iso_time_micros(r.expiry_us) : std::string("none"));
  if (r.has_key) {
    out << " key=\"" << escape_text(r.key) << "\" value=\"" << escape_text(value)
        << (cut ? "..." : "") << "\"";
    if (cut) out << " (" << r.value.size() << " bytes)";
  } else {
    out << " records=" << r.batch_records << " bytes=" << r.batch_bytes;
  }
  if (r.char_lengths) out << " lengths=characters";
  out << " crc=ok\n";
  if (options.hex) out << hex_dump(r.raw, r.offset, "    ");
}

void show_damage(std::string_view file, std::uint64_t offset, std::uint64_t length,
                 std::string_view reason, bool at_tail, std::string_view raw,
                 const DumpOptions& options, std::ostream& out) {
  if (options.json) {
    out << "{\"file\":" << json_string(file) << ",\"offset\":" << offset
        << ",\"length\":" << length << ",\"damage\":" << json_string(reason)
        << ",\"at_tail\":" << (at_tail ? "true" : "false") << "}\n";
    return;
  }
  out << file << " @" << offset << " BAD length=" << length << " reason=\"" << reason << "\" "
      << (at_tail ? "(to the end of the file)"
                  : "(next valid record at " + std::to_string(offset + length) + ")")
      << '\n';
  if (options.hex) out << hex_dump(raw.substr(0, kMaxHexDamage), offset, "    ");
}

bool wanted_key(const DumpOptions& options, std::string_view key) {
  return !options.key || *options.key == key;
}

// Offsets of the records the keydir would point at, per file: replays like
// recovery (batches applied whole, a cut-short batch dropped), skips damage.
using LiveSet = std::set<std::pair<std::string, std::uint64_t>>;

LiveSet live_records(Directory& directory, const std::vector<std::string>& names,
                     std::uint64_t now) {
  struct Where {
    std::string file;
    std::uint64_t offset, expiry;
  };
  std::map<std::string, Where, std::less<>> keydir;
  for (const auto& name : names) {
    auto segment = directory.open(name, OpenMode::read_only);
    RecordReader reader(*segment, format::kFileHeaderSize);
    std::vector<std::tuple<format::RecordType, std::string, std::uint64_t, std::uint64_t>> batch;
    std::uint64_t batch_left = 0;
    auto apply = [&](format::RecordType type, const std::string& key, std::uint64_t offset,
                     std::uint64_t expiry) {
      if (type == format::RecordType::value) keydir[key] = {name, offset, expiry};
      else keydir.erase(key);
    };
    if (segment->size() < format::kFileHeaderSize) continue;
    for (;;) {
      const auto step = reader.next();
      if (step == RecordReader::Step::end) break;
      if (step == RecordReader::Step::damage) {
        batch_left = 0;
        batch.clear();
        continue;
      }
      const Record& r = reader.record();
      if (r.header.type == format::RecordType::batch) {
        batch.clear();
        batch_left = format::load_le<std::uint32_t>(reinterpret_cast<const std::byte*>(r.value.data()));
        continue;
      }
      if (batch_left > 0) {
        batch.emplace_back(r.header.type, std::string(r.key), r.offset, r.header.expiry);
        if (--batch_left == 0) {
          for (auto& [t, k, o, e] : batch) apply(t, k, o, e);
          batch.clear();
        }
      } else {
        apply(r.header.type, std::string(r.key), r.offset, r.header.expiry);
      }
    }
  }
  LiveSet live;
  for (auto& [key, where] : keydir)
    if (where.expiry == 0 || where.expiry > now) live.emplace(where.file, where.offset);
  return live;
}

void dump_python(std::string_view name, std::string_view bytes, const DumpOptions& options,
                 std::ostream& out, DumpSummary& summary) {
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
      ++summary.bad_regions;
      summary.bad_bytes += d.length;
      show_damage(name, d.offset, d.length, d.reason, d.at_tail, bytes.substr(d.offset, d.length),
                  options, out);
      continue;
    }
    const auto& r = reader.record();
    if (r.char_lengths) ++summary.char_length_records;
    if (!wanted_key(options, r.key)) continue;
    if (options.live && (newest[r.key] != r.offset || r.deleted ||
                         (r.expiry != 0 && r.expiry <= now_s)))
      continue;
    Shown shown{name, r.offset, r.size, r.deleted ? "tombstone" : "value",
                std::uint64_t{r.write_time} * 1'000'000, std::uint64_t{r.expiry} * 1'000'000,
                r.key, r.value};
    shown.char_lengths = r.char_lengths;
    shown.raw = bytes.substr(r.offset, r.size);
    ++summary.records;
    ++(r.deleted ? summary.tombstones : summary.values);
    summary.bytes += r.size;
    show_record(shown, options, out);
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
               const LiveSet* live, std::ostream& out, DumpSummary& summary) {
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
      ++summary.bad_regions;
      summary.bad_bytes += rest.size();
      show_damage(name, offset, rest.size(), why, true,
                  options.hex ? std::string_view(image).substr(offset, kMaxHexDamage) : "", options, out);
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
      const std::string_view raw = std::string_view(image).substr(offset, size);
      if (options.json) {
        out << "{\"file\":" << json_string(name) << ",\"offset\":" << offset << ",\"size\":" << size
            << ",\"type\":\"hint\",\"entry\":\"" << hint_type_name(e.type) << '"';
        if (is_end) {
          out << ",\"data_size\":" << e.offset << ",\"entries\":" << e.timestamp;
        } else {
          out << ',' << json_bytes_field("key", e.key) << ",\"datafile\":" << json_string(datafile)
              << ",\"record_offset\":" << e.offset << ",\"record_size\":" << e.record_size
              << ",\"timestamp_us\":" << e.timestamp << ",\"time\":\"" << iso_time_micros(e.timestamp)
              << "\",\"expiry_us\":" << e.expiry << ",\"expiry\":"
              << (e.expiry ? "\"" + iso_time_micros(e.expiry) + "\"" : std::string("null"));
        }
        out << ",\"crc_ok\":" << (crc_ok ? "true" : "false");
        if (options.hex) {
          out << ",\"hex\":\"";
          static constexpr char digits[] = "0123456789abcdef";
          for (unsigned char c : raw) out << digits[c >> 4] << digits[c & 15];
          out << '"';
        }
        out << "}\n";
      } else {
        out << name << " @" << offset << " size=" << size << " hint-" << hint_type_name(e.type);
        if (is_end) {
          out << " data_size=" << e.offset << " entries=" << e.timestamp;
        } else {
          out << " key=\"" << escape_text(e.key) << "\" record=" << datafile << '@' << e.offset
              << " record_size=" << e.record_size << " time=" << iso_time_micros(e.timestamp)
              << " expiry=" << (e.expiry ? iso_time_micros(e.expiry) : std::string("none"));
        }
        out << " crc=" << (crc_ok ? "ok" : "BAD") << '\n';
        if (options.hex) out << hex_dump(raw, offset, "    ");
      }
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
  if (options.json) {
    out << "{\"file\":" << json_string(name) << ",\"hint_check\":"
        << (check.problem ? json_string(check.problem) : std::string("\"ok\""))
        << ",\"checked_against\":" << json_string(against) << ",\"entries\":" << check.entries
        << "}\n";
  } else {
    out << "# " << name << ": hint check against " << against << ": "
        << (check.problem ? std::string(check.problem) + " (Store::open ignores this hint)"
                          : "ok, " + std::to_string(check.entries) + " entries")
        << '\n';
  }
}

void dump_datafile(Directory& directory, const std::string& name, const DumpOptions& options,
                   const LiveSet* live, std::ostream& out, DumpSummary& summary) {
  auto segment = directory.open(name, OpenMode::read_only);
  const std::uint64_t size = segment->size();
  std::array<std::byte, format::kFileHeaderSize> header_bytes{};
  const std::size_t present = std::min<std::uint64_t>(size, format::kFileHeaderSize);
  segment->read_into(0, std::span(header_bytes).first(present));
  format::FileHeader header;
  const auto status = format::decode_file_header(std::span(header_bytes).first(present), header);
  auto raw = [&](std::uint64_t offset, std::uint64_t length) {
    std::string bytes(std::min<std::uint64_t>(length, options.hex ? length : 0), '\0');
    if (!bytes.empty()) segment->read_into(offset, std::as_writable_bytes(std::span(bytes)));
    return bytes;
  };
  if (status != format::FileHeaderStatus::ok) {
    ++summary.bad_regions;
    summary.bad_bytes += present;
    show_damage(name, 0, present, std::string("bad file header: ") + format::describe(status),
                size <= format::kFileHeaderSize, raw(0, std::min<std::uint64_t>(present, kMaxHexDamage)),
                options, out);
    if (size <= format::kFileHeaderSize) return;
  } else if (options.json) {
    out << "{\"file\":" << json_string(name) << ",\"format\":\"" << header.magic
        << "\",\"segment_id\":" << header.segment_id << ",\"file_size\":" << size << "}\n";
  } else {
    out << "# " << name << ": " << header.magic << " segment " << header.segment_id << ", "
        << size << " bytes\n";
  }
  if (header.magic == format::kHintMagic && status == format::FileHeaderStatus::ok) {
    segment.reset();
    dump_hint(directory, name, options, live, out, summary);
    return;
  }
  RecordReader reader(*segment, format::kFileHeaderSize);
  for (;;) {
    const auto step = reader.next();
    if (step == RecordReader::Step::end) break;
    if (step == RecordReader::Step::damage) {
      const auto& d = reader.damage();
      ++summary.bad_regions;
      summary.bad_bytes += d.length;
      show_damage(name, d.offset, d.length, d.reason, d.at_tail,
                  raw(d.offset, std::min<std::uint64_t>(d.length, kMaxHexDamage)), options, out);
      continue;
    }
    const Record& r = reader.record();
    const bool is_batch = r.header.type == format::RecordType::batch;
    if (options.key && (is_batch || !wanted_key(options, r.key))) continue;
    if (live && !live->contains({name, r.offset})) continue;
    Shown shown{name, r.offset, r.size(), type_name(r.header.type), r.header.timestamp,
                r.header.expiry, r.key, r.value};
    std::string bytes;
    if (options.hex) {
      bytes = raw(r.offset, r.size());
      shown.raw = bytes;
    }
    if (is_batch) {
      const auto* v = reinterpret_cast<const std::byte*>(r.value.data());
      shown.has_key = false;
      shown.batch_records = format::load_le<std::uint32_t>(v);
      shown.batch_bytes = format::load_le<std::uint64_t>(v + 8);
      ++summary.batches;
    } else {
      ++(r.header.type == format::RecordType::value ? summary.values : summary.tombstones);
    }
    ++summary.records;
    summary.bytes += r.size();
    show_record(shown, options, out);
  }
}

}  // namespace

void dump_file(Directory& directory, const std::string& name, const DumpOptions& options,
               std::ostream& out, DumpSummary& summary) {
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
          if (!options.json) out << "# " << name << ": Python pyk file, " << bytes.size() << " bytes\n";
          else out << "{\"file\":" << json_string(name) << ",\"format\":\"python-pyk\",\"file_size\":" << bytes.size() << "}\n";
          dump_python(name, bytes, options, out, summary);
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
  dump_datafile(directory, name, options, options.live ? &live : nullptr, out, summary);
}

void dump_store(Directory& directory, const DumpOptions& options, std::ostream& out,
                DumpSummary& summary) {
  const auto names = datafiles(directory);
  LiveSet live;
  if (options.live) live = live_records(directory, names, now_of(options));
  for (const auto& name : names) {
    ++summary.files;
    dump_datafile(directory, name, options, options.live ? &live : nullptr, out, summary);
    if (!options.hints) continue;
    const std::string hint = filename::hint(filename::parse(name).segment_id);
    if (!directory.exists(hint)) continue;
    ++summary.files;
    dump_datafile(directory, hint, options, options.live ? &live : nullptr, out, summary);
  }
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
    dump_datafile(directory, name, options, options.live ? &live : nullptr, out, summary);
  }
}

void write_summary(const DumpSummary& s, const DumpOptions& options, std::ostream& out) {
  if (options.json) {
    out << "{\"summary\":{\"files\":" << s.files << ",\"records\":" << s.records
        << ",\"values\":" << s.values << ",\"tombstones\":" << s.tombstones
        << ",\"batches\":" << s.batches << ",\"bytes\":" << s.bytes
        << ",\"bad_regions\":" << s.bad_regions << ",\"bad_bytes\":" << s.bad_bytes
        << ",\"char_length_records\":" << s.char_length_records << "}}\n";
  } else {
    out << "summary: files=" << s.files << " records=" << s.records << " values=" << s.values
        << " tombstones=" << s.tombstones << " batches=" << s.batches << " bytes=" << s.bytes
        << " bad_regions=" << s.bad_regions << " bad_bytes=" << s.bad_bytes;
    if (s.char_length_records) out << " char_length_records=" << s.char_length_records;
    out << '\n';
  }
}

DumpSummary dump_path(const std::string& path, const DumpOptions& options, std::ostream& out) {
  const Source source = open_source(path);
  DumpSummary summary;
  if (source.file.empty()) dump_store(*source.directory, options, out, summary);
  else dump_file(*source.directory, source.file, options, out, summary);
  write_summary(summary, options, out);
  return summary;
}

}  // namespace pyk::tools
