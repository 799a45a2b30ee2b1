// pyk-dump --json: one JSON object a line per record, entry, bad region and
// file, then {"summary":{...}}. Fields are documented in README.md ("Tools");
// key and value bytes are a UTF-8 string, or base64 in a "*_b64" field.
#include "tools/lib/dump_sink.h"

#include <ostream>
#include <string>

#include "tools/lib/text.h"

namespace pyk::tools {
namespace {

class JsonDumpSink final : public DumpSink {
 public:
  // `out` must outlive the sink.
  JsonDumpSink(const DumpOptions& options, std::ostream& out) : options_(options), out_(out) {}
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

// "key":"..." for UTF-8 bytes, "key_b64":"..." otherwise.
std::string bytes_field(std::string_view name, std::string_view bytes) {
  if (is_valid_utf8(bytes)) return "\"" + std::string(name) + "\":" + json_string(bytes);
  return "\"" + std::string(name) + "_b64\":\"" + base64_encode(bytes) + "\"";
}

// "expiry_us":N,"expiry":"ISO" (null when there is none).
std::string expiry_fields(std::uint64_t expiry_us) {
  return "\"expiry_us\":" + std::to_string(expiry_us) + ",\"expiry\":" +
         (expiry_us ? "\"" + iso_time_micros(expiry_us) + "\"" : std::string("null"));
}

// "timestamp_us":N,"time":"ISO", then the expiry pair.
std::string time_fields(std::uint64_t timestamp_us, std::uint64_t expiry_us) {
  return "\"timestamp_us\":" + std::to_string(timestamp_us) + ",\"time\":\"" +
         iso_time_micros(timestamp_us) + "\"," + expiry_fields(expiry_us);
}

std::string hex_field(std::string_view raw) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out = ",\"hex\":\"";
  for (unsigned char c : raw) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out + '"';
}

const char* boolean(bool b) { return b ? "true" : "false"; }

void JsonDumpSink::file(const FileLine& f) {
  out_ << "{\"file\":" << json_string(f.file);
  if (f.python_pyk) out_ << ",\"format\":\"python-pyk\"";
  else out_ << ",\"format\":" << json_string(f.magic) << ",\"segment_id\":" << f.segment_id;
  out_ << ",\"file_size\":" << f.file_size << "}\n";
}

void JsonDumpSink::record(const RecordLine& r) {
  out_ << "{\"file\":" << json_string(r.file) << ",\"offset\":" << r.offset << ",\"size\":" << r.size
       << ",\"type\":\"" << r.type << "\"," << time_fields(r.timestamp_us, r.expiry_us);
  if (r.has_key) {
    const bool cut = options_.max_value != 0 && r.value.size() > options_.max_value;
    out_ << ',' << bytes_field("key", r.key) << ','
         << bytes_field("value", cut ? r.value.substr(0, options_.max_value) : r.value)
         << ",\"value_size\":" << r.value.size();
    if (cut) out_ << ",\"value_truncated\":true";
  } else {
    out_ << ",\"batch_records\":" << r.batch_records << ",\"batch_bytes\":" << r.batch_bytes;
  }
  if (r.char_lengths) out_ << ",\"char_lengths\":true";
  out_ << ",\"crc_ok\":true";
  if (options_.hex) out_ << hex_field(r.raw);
  out_ << "}\n";
}

void JsonDumpSink::hint_entry(const HintLine& e) {
  out_ << "{\"file\":" << json_string(e.file) << ",\"offset\":" << e.offset << ",\"size\":" << e.size
       << ",\"type\":\"hint\",\"entry\":\"" << e.entry << '"';
  if (e.is_end) {
    out_ << ",\"data_size\":" << e.data_size << ",\"entries\":" << e.entries;
  } else {
    out_ << ',' << bytes_field("key", e.key) << ",\"datafile\":" << json_string(e.datafile)
         << ",\"record_offset\":" << e.record_offset << ",\"record_size\":" << e.record_size << ','
         << expiry_fields(e.expiry_us);
  }
  out_ << ",\"crc_ok\":" << boolean(e.crc_ok);
  if (options_.hex) out_ << hex_field(e.raw);
  out_ << "}\n";
}

void JsonDumpSink::damage(const DamageLine& d) {
  out_ << "{\"file\":" << json_string(d.file) << ",\"offset\":" << d.offset
       << ",\"length\":" << d.length << ",\"damage\":" << json_string(d.reason)
       << ",\"at_tail\":" << boolean(d.at_tail) << "}\n";
}

void JsonDumpSink::hint_verdict(const HintVerdictLine& v) {
  out_ << "{\"file\":" << json_string(v.file)
       << ",\"hint_check\":" << json_string(v.problem ? v.problem : "ok")
       << ",\"checked_against\":" << json_string(v.checked_against) << ",\"entries\":" << v.entries
       << "}\n";
}

void JsonDumpSink::damaged_key(const DamagedKeyLine& d) {
  out_ << "{\"file\":" << json_string(d.file) << ",\"offset\":" << d.offset << ","
       << bytes_field("damaged_key", d.key) << ",\"damage\":" << json_string(d.reason) << "}\n";
}

void JsonDumpSink::summary(const DumpSummary& s) {
  out_ << "{\"summary\":{\"files\":" << s.files << ",\"records\":" << s.records
       << ",\"values\":" << s.values << ",\"tombstones\":" << s.tombstones
       << ",\"batches\":" << s.batches << ",\"bytes\":" << s.bytes
       << ",\"bad_regions\":" << s.bad_regions << ",\"bad_bytes\":" << s.bad_bytes
       << ",\"char_length_records\":" << s.char_length_records
       << ",\"damaged_keys\":" << s.damaged_keys
       << ",\"unattributed_damage\":" << s.unattributed_damage << "}}\n";
}

}  // namespace

std::unique_ptr<DumpSink> make_json_dump_sink(const DumpOptions& options, std::ostream& out) {
  return std::make_unique<JsonDumpSink>(options, out);
}

}  // namespace pyk::tools
