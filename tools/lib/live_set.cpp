#include "tools/lib/live_set.h"

#include <algorithm>
#include <array>
#include <cerrno>

#include "core/error.h"
#include "core/filename.h"
#include "core/format.h"
#include "core/log_reader.h"
#include "core/manifest.h"
#include "core/replay_order.h"
#include "tools/lib/source.h"

namespace pyk::tools {
namespace {

// A segment's hint entries (each key's newest record there), read leniently:
// up to the first entry that does not decode. Empty if there is no readable hint.
std::vector<std::pair<std::uint64_t, std::string>> hint_keys(Directory& directory, std::uint32_t id) {
  std::vector<std::pair<std::uint64_t, std::string>> out;
  std::string image;
  try {
    image = read_all(directory, filename::hint(id));
  } catch (const IoError&) {
    return out;  // missing or unreadable: the keys are named another way
  }
  const auto bytes = format::as_bytes(image);
  for (std::uint64_t at = format::kFileHeaderSize; at < bytes.size();) {
    format::HintEntry e;
    std::size_t size = 0;
    if (format::decode_hint_entry(bytes.subspan(at), e, size) != nullptr) break;
    if (e.type == format::HintType::end) break;
    out.emplace_back(e.offset, std::string(e.key));
    at += size;
  }
  return out;
}

// Keys of the records that seem to start at `from` and follow each other up
// to `to`, read from their headers without a checksum: the best guess at whose
// records a damaged region held.
std::vector<std::string> keys_by_header(const Segment& segment, std::uint64_t from, std::uint64_t to) {
  std::vector<std::string> out;
  std::string scratch;
  for (std::uint64_t at = from; at + format::kRecordHeaderSize <= std::min(to, segment.size());) {
    std::array<std::byte, format::kRecordHeaderSize> raw{};
    segment.read_into(at, raw);
    const format::RecordHeader h = format::decode_record_header(raw.data());
    if (format::check_record_header(h) != nullptr || at + h.record_size() > segment.size()) break;
    if (h.type != format::RecordType::batch) {
      scratch.resize(h.key_size);
      segment.read_into(at + format::kRecordHeaderSize, std::as_writable_bytes(std::span(scratch)));
      out.push_back(scratch);
    }
    at += h.record_size();
  }
  return out;
}

struct Newest {
  const std::string* file;
  std::uint64_t offset, expiry;
  std::optional<DamagedKey> damage;  // set: the newest record is damaged or lost
  bool guessed = false;              // damage named from an unchecked header
};

}  // namespace

std::vector<ReplaySegment> store_segments(Directory& directory) {
  std::string problem;
  const std::optional<Manifest> listed = manifest::read(directory, problem);
  std::vector<ReplaySegment> out;
  const std::vector<ReplayPosition> order = replay_order(directory);
  if (!listed || !problem.empty()) {
    for (std::size_t i = 0; i < order.size(); ++i)
      out.push_back({filename::data(order[i].id), order[i].id, true, i + 1 == order.size(), {}});
    return out;
  }
  // Listed ones present, in replay order; a missing one where its id puts it
  // (its merge rank went with its header).
  std::vector<ReplayPosition> positions;
  for (const auto& p : order)
    if (listed->find(p.id) != nullptr) positions.push_back(p);
  for (const ManifestEntry& e : listed->segments) {
    const bool present = std::any_of(order.begin(), order.end(), [&](const auto& p) { return p.id == e.id; });
    if (!present) positions.push_back({e.id, e.id, 0});
  }
  std::sort(positions.begin(), positions.end());
  for (const auto& p : positions) {
    const ManifestEntry& e = *listed->find(p.id);
    const bool present = std::any_of(order.begin(), order.end(), [&](const auto& q) { return q.id == p.id; });
    out.push_back({filename::data(p.id), p.id, present, e.open_ended(),
                   e.open_ended() ? std::nullopt : std::optional<std::uint64_t>(e.length)});
  }
  return out;
}

LiveView live_view(Directory& directory, const std::vector<ReplaySegment>& segments,
                   std::uint64_t now_micros, bool attribute) {
  std::map<std::string, Newest, std::less<>> keydir;
  LiveView view;
  std::set<std::string, std::less<>> seen;  // keys with a valid record somewhere
  auto mark = [&](const std::string& key, const std::string& file, std::uint64_t offset,
                  const std::string& reason, bool guessed = false) {
    keydir.insert_or_assign(key, Newest{nullptr, 0, 0, DamagedKey{file, offset, reason}, guessed});
  };
  for (const ReplaySegment& s : segments) {
    const std::vector<std::pair<std::uint64_t, std::string>> hinted =
        attribute ? hint_keys(directory, s.id) : decltype(hint_keys(directory, 0)){};
    if (!s.present) {
      if (!attribute) continue;
      for (const auto& [offset, key] : hinted) mark(key, s.name, offset, "its segment is missing");
      if (hinted.empty()) ++view.unattributed;
      continue;
    }
    auto segment = directory.open(s.name, OpenMode::read_only);
    if (segment->size() < format::kFileHeaderSize) continue;
    // Names the keys whose newest record lay in [from, to).
    auto damaged = [&](std::uint64_t from, std::uint64_t to, const std::string& reason) {
      std::vector<std::string> keys;
      const bool guessed = hinted.empty();
      if (!guessed) {
        for (const auto& [offset, key] : hinted)
          if (offset >= from && offset < to) keys.push_back(key);
      } else {
        keys = keys_by_header(*segment, from, to);
      }
      if (keys.empty()) ++view.unattributed;
      for (const auto& key : keys) mark(key, s.name, from, reason, guessed);
    };
    LogReader reader(*segment, LogReader::Mode::tolerant, [&](const LogProblem& p) {
      if (!attribute || (s.tail_allowed && p.at_tail)) return;  // Store::open cuts it: it hides nothing
      damaged(p.offset, p.offset + p.length, p.reason);
    });
    while (reader.next()) {
      for (const Record& r : reader.unit().records) {
        if (attribute) seen.emplace(r.key);
        if (r.header.type == format::RecordType::value) {
          keydir.insert_or_assign(std::string(r.key), Newest{&s.name, r.offset, r.header.expiry, {}});
        } else if (auto it = keydir.find(r.key); it != keydir.end()) {
          keydir.erase(it);
        }
      }
    }
    if (attribute && s.listed_length && segment->size() < *s.listed_length)
      damaged(segment->size(), *s.listed_length, "cut off: the segment is shorter than listed");
  }
  for (const auto& [key, newest] : keydir) {
    if (newest.damage) {
      // A key read from a damaged header that no valid record has is most
      // likely the damage itself (a changed key byte): no key is named then.
      if (newest.guessed && !seen.contains(key)) ++view.unattributed;
      else view.damaged.emplace(key, *newest.damage);
    } else if (newest.expiry == 0 || newest.expiry > now_micros) {
      view.live.emplace(*newest.file, newest.offset);
      view.where.emplace(key, std::make_pair(*newest.file, newest.offset));
    }
  }
  return view;
}

LiveSet live_records(Directory& directory, const std::vector<std::string>& names,
                     std::uint64_t now_micros) {
  std::vector<ReplaySegment> segments;
  for (const auto& name : names) segments.push_back({name, filename::parse(name).segment_id, true, true, {}});
  return live_view(directory, segments, now_micros, /*attribute=*/false).live;
}

}  // namespace pyk::tools
