#include "tools/lib/transfer.h"

#include <boost/json.hpp>
#include <chrono>
#include <istream>
#include <map>

#include "core/error.h"
#include "tools/lib/dump.h"
#include "tools/lib/python_pyk.h"
#include "tools/lib/source.h"
#include "tools/lib/text.h"

namespace pyk::tools {
namespace {

std::uint64_t now_or(std::uint64_t now_micros) {
  if (now_micros != 0) return now_micros;
  using namespace std::chrono;
  return duration_cast<microseconds>(system_clock::now().time_since_epoch()).count();
}

// The bytes of field `name` (JSON string) or `name`_b64 (base64); nullopt if neither.
std::optional<std::string> bytes_field(const boost::json::object& o, const std::string& name,
                                       std::uint64_t line) {
  if (const auto* v = o.if_contains(name)) {
    if (!v->is_string()) throw InvalidArgument("line " + std::to_string(line) + ": " + name + " is not a string");
    return std::string(v->get_string());
  }
  if (const auto* v = o.if_contains(name + "_b64")) {
    std::optional<std::string> bytes;
    if (v->is_string()) bytes = base64_decode(v->get_string());
    if (!bytes) throw InvalidArgument("line " + std::to_string(line) + ": bad base64 in " + name + "_b64");
    return bytes;
  }
  return std::nullopt;
}

void put_with_expiry(Store& store, std::string_view key, std::string_view value,
                     std::uint64_t expiry, std::uint64_t now, ImportStats& stats) {
  if (expiry != 0 && expiry <= now) {
    ++stats.expired;
    return;
  }
  if (expiry != 0) store.put(key, value, std::chrono::microseconds(expiry - now));
  else store.put(key, value);
  ++stats.puts;
}

}  // namespace

DumpSummary export_store(Directory& directory, std::ostream& out, std::uint64_t now_micros) {
  DumpOptions options;
  options.json = true;
  options.live = true;
  options.now_micros = now_or(now_micros);
  DumpSummary summary;
  dump_store(directory, options, out, summary);
  write_summary(summary, options, out);
  return summary;
}

ImportStats import_jsonl(Store& store, std::istream& in, std::uint64_t now_micros) {
  const std::uint64_t now = now_or(now_micros);
  ImportStats stats;
  // Every line is checked before anything is written; then one batch.
  WriteBatch batch;
  std::string text;
  auto bad = [&](const std::string& why) {
    return InvalidArgument("line " + std::to_string(stats.lines) + ": " + why + "; nothing imported");
  };
  while (std::getline(in, text)) {
    ++stats.lines;
    if (text.find_first_not_of(" \t\r") == std::string::npos) continue;
    boost::system::error_code ec;
    const auto value = boost::json::parse(text, ec);
    if (ec || !value.is_object())
      throw bad("not a JSON object" + (ec ? " (" + ec.message() + ")" : std::string()));
    const auto& o = value.get_object();
    // A damaged region or key of the exported store: its data is not in the
    // stream, so applying the rest would pass older values off as current.
    if (o.contains("damage"))
      throw bad(o.contains("damaged_key") || o.contains("damaged_key_b64")
                    ? "the export marks damage: a key whose newest value is lost"
                    : "the export marks damage: data it could not read");
    const auto key = bytes_field(o, "key", stats.lines);
    if (!key) {
      ++stats.skipped;  // file, summary and hint-verdict lines
      continue;
    }
    if (key->empty()) throw bad("empty key");
    std::string type = "value";
    if (const auto* t = o.if_contains("type"); t && t->is_string()) type = t->get_string();
    if (type == "hint") {  // pyk-dump --hints: index entries, not data
      ++stats.skipped;
      continue;
    }
    if (type == "tombstone") {
      batch.erase(*key);
      ++stats.erases;
      continue;
    }
    if (type != "value") throw bad("unknown type " + type);
    if (const auto* t = o.if_contains("value_truncated"); t && t->is_bool() && t->get_bool())
      throw bad("value was cut by --max-value; dump again without it");
    const auto data = bytes_field(o, "value", stats.lines);
    if (!data) throw bad("value missing");
    std::uint64_t expiry = 0;
    if (const auto* e = o.if_contains("expiry_us")) {
      if (e->is_uint64()) expiry = e->get_uint64();
      else if (e->is_int64() && e->get_int64() >= 0) expiry = static_cast<std::uint64_t>(e->get_int64());
      else throw bad("bad expiry_us");
    }
    if (expiry != 0 && expiry <= now) {
      ++stats.expired;
      continue;
    }
    if (expiry != 0) batch.put(*key, *data, std::chrono::microseconds(expiry - now));
    else batch.put(*key, *data);
    ++stats.puts;
  }
  if (in.bad()) throw IoError("read of the import input failed", "-", EIO);
  store.write(batch);  // all or nothing
  return stats;
}

ImportStats import_python_pyk(Store& store, Directory& directory, const std::string& name,
                              std::uint64_t now_micros) {
  const std::uint64_t now = now_or(now_micros);
  const std::string bytes = read_all(directory, name);
  if (!python_pyk::looks_like_python_pyk(bytes))
    throw InvalidArgument(name + " does not look like a Python pyk file (its first record does "
                          "not decode with a matching CRC-32)");
  ImportStats stats;
  // The newest record of each key decides; the file is replayed in order.
  std::map<std::string_view, python_pyk::Record> newest;
  python_pyk::Reader reader(bytes);
  for (auto step = reader.next(); step != python_pyk::Reader::Step::end; step = reader.next()) {
    if (step == python_pyk::Reader::Step::damage) {
      ++stats.damaged_regions;
      continue;
    }
    ++stats.lines;
    if (reader.record().char_lengths) ++stats.char_length_records;
    newest[reader.record().key] = reader.record();
  }
  for (const auto& [key, r] : newest) {
    if (r.deleted) continue;
    put_with_expiry(store, key, r.value, std::uint64_t{r.expiry} * 1'000'000, now, stats);
  }
  return stats;
}

}  // namespace pyk::tools
