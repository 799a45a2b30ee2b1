// pyk-dump's text lines (formats in dump.h): one line per record, entry,
// bad region and file, then the summary line.
#include "tools/lib/dump_sink.h"

#include <ostream>
#include <string>

#include "tools/lib/text.h"

namespace pyk::tools {
namespace {

class TextDumpSink final : public DumpSink {
 public:
  // `out` must outlive the sink.
  TextDumpSink(const DumpOptions& options, std::ostream& out) : options_(options), out_(out) {}
  void file(const FileLine& line) override;
  void record(const RecordLine& line) override;
  void hint_entry(const HintLine& line) override;
  void damage(const DamageLine& line) override;
  void hint_verdict(const HintVerdictLine& line) override;
  void damaged_key(const DamagedKeyLine& line) override;
  void summary(const DumpSummary& summary) override;

 private:
  const DumpOptions options_;
  std::ostream& out_;
};

std::string time_or_none(std::uint64_t micros) {
  return micros ? iso_time_micros(micros) : std::string("none");
}

void TextDumpSink::file(const FileLine& f) {
  out_ << "# " << f.file << ": ";
  if (f.python_pyk) out_ << "Python pyk file, ";
  else out_ << f.magic << " segment " << f.segment_id << ", ";
  out_ << f.file_size << " bytes\n";
}

void TextDumpSink::record(const RecordLine& r) {
  out_ << r.file << " @" << r.offset << " size=" << r.size << ' ' << r.type
       << " time=" << iso_time_micros(r.timestamp_us) << " expiry=" << time_or_none(r.expiry_us);
  if (r.has_key) {
    const bool cut = options_.max_value != 0 && r.value.size() > options_.max_value;
    out_ << " key=\"" << escape_text(r.key) << "\" value=\""
         << escape_text(cut ? r.value.substr(0, options_.max_value) : r.value)
         << (cut ? "..." : "") << "\"";
    if (cut) out_ << " (" << r.value.size() << " bytes)";
  } else {
    out_ << " records=" << r.batch_records << " bytes=" << r.batch_bytes;
  }
  if (r.char_lengths) out_ << " lengths=characters";
  out_ << " crc=ok\n";
  if (options_.hex) out_ << hex_dump(r.raw, r.offset, "    ");
}

void TextDumpSink::hint_entry(const HintLine& e) {
  out_ << e.file << " @" << e.offset << " size=" << e.size << " hint-" << e.entry;
  if (e.is_end) {
    out_ << " data_size=" << e.data_size << " entries=" << e.entries;
  } else {
    out_ << " key=\"" << escape_text(e.key) << "\" record=" << e.datafile << '@' << e.record_offset
         << " record_size=" << e.record_size << " expiry=" << time_or_none(e.expiry_us);
  }
  out_ << " crc=" << (e.crc_ok ? "ok" : "BAD") << '\n';
  if (options_.hex) out_ << hex_dump(e.raw, e.offset, "    ");
}

void TextDumpSink::damage(const DamageLine& d) {
  out_ << d.file << " @" << d.offset << " BAD length=" << d.length << " reason=\"" << d.reason
       << "\" "
       << (d.at_tail ? "(to the end of the file)"
                     : "(next valid record at " + std::to_string(d.offset + d.length) + ")")
       << '\n';
  if (options_.hex) out_ << hex_dump(d.raw.substr(0, kMaxHexDamage), d.offset, "    ");
}

void TextDumpSink::hint_verdict(const HintVerdictLine& v) {
  out_ << "# " << v.file << ": hint check against " << v.checked_against << ": "
       << (v.problem ? std::string(v.problem) + " (Store::open ignores this hint)"
                     : "ok, " + std::to_string(v.entries) + " entries")
       << '\n';
}

void TextDumpSink::damaged_key(const DamagedKeyLine& d) {
  out_ << d.file << " @" << d.offset << " DAMAGED key=\"" << escape_text(d.key) << "\" reason=\""
       << d.reason << "\" (its newest record is lost: no older value is shown)\n";
}

void TextDumpSink::summary(const DumpSummary& s) {
  out_ << "summary: files=" << s.files << " records=" << s.records << " values=" << s.values
       << " tombstones=" << s.tombstones << " batches=" << s.batches << " bytes=" << s.bytes
       << " bad_regions=" << s.bad_regions << " bad_bytes=" << s.bad_bytes;
  if (s.char_length_records) out_ << " char_length_records=" << s.char_length_records;
  if (s.damaged_keys) out_ << " damaged_keys=" << s.damaged_keys;
  if (s.unattributed_damage) out_ << " unattributed_damage=" << s.unattributed_damage;
  out_ << '\n';
}

}  // namespace

std::unique_ptr<DumpSink> make_text_dump_sink(const DumpOptions& options, std::ostream& out) {
  return std::make_unique<TextDumpSink>(options, out);
}

}  // namespace pyk::tools
