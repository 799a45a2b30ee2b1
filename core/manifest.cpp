#include "core/manifest.h"

#include <algorithm>
#include <cerrno>

#include "core/crc32c.h"
#include "core/error.h"
#include "core/filename.h"
#include "core/format.h"
#include "core/replace_file.h"

namespace pyk {

const ManifestEntry* Manifest::find(std::uint32_t id) const {
  const auto it = std::lower_bound(segments.begin(), segments.end(), id,
                                   [](const ManifestEntry& e, std::uint32_t v) { return e.id < v; });
  return it != segments.end() && it->id == id ? &*it : nullptr;
}

std::uint32_t Manifest::newest_id() const { return segments.empty() ? 0 : segments.back().id; }

namespace manifest {

std::string encode(const Manifest& m) {
  std::string out(format::kManifestHeaderSize + m.segments.size() * format::kManifestEntrySize + 4,
                  '\0');
  auto* p = reinterpret_cast<std::byte*>(out.data());
  std::copy(format::kManifestMagic.begin(), format::kManifestMagic.end(),
            reinterpret_cast<char*>(p));
  format::store_le<std::uint32_t>(p + 8, format::kFormatVersion);
  format::store_le<std::uint32_t>(p + 12, static_cast<std::uint32_t>(m.segments.size()));
  format::store_le<std::uint64_t>(p + 16, m.generation);
  std::byte* e = p + format::kManifestHeaderSize;
  for (const ManifestEntry& entry : m.segments) {
    format::store_le<std::uint32_t>(e, entry.id);
    format::store_le<std::uint32_t>(e + 4, (entry.active ? format::kManifestActive : 0) |
                                               (entry.unsynced ? format::kManifestUnsynced : 0));
    format::store_le<std::uint64_t>(e + 8, entry.length);
    e += format::kManifestEntrySize;
  }
  format::store_le<std::uint32_t>(e, crc32c::value(std::span<const std::byte>(p, e)));
  return out;
}

const char* decode(std::span<const std::byte> bytes, Manifest& out) {
  if (bytes.size() < format::kManifestHeaderSize + 4) return "manifest shorter than its header";
  if (std::string_view(reinterpret_cast<const char*>(bytes.data()), 8) != format::kManifestMagic)
    return "not a pyk manifest (bad magic)";
  const auto crc = format::load_le<std::uint32_t>(bytes.data() + bytes.size() - 4);
  if (crc != crc32c::value(bytes.first(bytes.size() - 4))) return "manifest checksum mismatch";
  if (format::load_le<std::uint32_t>(bytes.data() + 8) != format::kFormatVersion)
    return "unsupported manifest version";
  const auto count = format::load_le<std::uint32_t>(bytes.data() + 12);
  if (bytes.size() != format::kManifestHeaderSize + std::uint64_t{count} * format::kManifestEntrySize + 4)
    return "manifest size does not match its entry count";
  out.generation = format::load_le<std::uint64_t>(bytes.data() + 16);
  out.segments.clear();
  const std::byte* e = bytes.data() + format::kManifestHeaderSize;
  std::uint32_t previous = 0;
  bool seen_active = false;
  for (std::uint32_t i = 0; i < count; ++i, e += format::kManifestEntrySize) {
    ManifestEntry entry;
    entry.id = format::load_le<std::uint32_t>(e);
    const auto flags = format::load_le<std::uint32_t>(e + 4);
    entry.active = (flags & format::kManifestActive) != 0;
    entry.unsynced = (flags & format::kManifestUnsynced) != 0;
    entry.length = format::load_le<std::uint64_t>(e + 8);
    if (entry.id <= previous) return "manifest segment ids not ascending";
    if ((flags & ~(format::kManifestActive | format::kManifestUnsynced)) != 0)
      return "unknown manifest entry flags";
    if (entry.active && entry.unsynced) return "manifest entry both active and sealed";
    if (entry.active && seen_active) return "manifest lists two active segments";
    seen_active |= entry.active;
    previous = entry.id;
    out.segments.push_back(entry);
  }
  return nullptr;
}

std::optional<Manifest> read(Directory& directory, std::string& problem) {
  std::unique_ptr<Segment> file;
  try {
    file = directory.open(std::string(filename::kManifest), OpenMode::read_only);
  } catch (const IoError& e) {
    if (e.error_code() == ENOENT) return std::nullopt;
    throw;
  }
  std::string bytes(file->size(), '\0');
  file->read_into(0, std::as_writable_bytes(std::span(bytes)));
  Manifest out;
  if (const char* reason = decode(std::as_bytes(std::span(bytes)), out)) {
    problem = reason;
  }
  return out;
}

void write(Directory& directory, const Manifest& manifest) {
  const std::string bytes = encode(manifest);
  replace_file(directory, std::string(filename::kManifest), bytes.size(), [&](Segment& file) {
    file.append(std::as_bytes(std::span(bytes)));
    file.seal();  // syncs
  });
}

}  // namespace manifest
}  // namespace pyk
