#!/usr/bin/env bash
# Mutation check: is each promise guarded by a test? Applies deliberate
# breakages to the source one at a time, rebuilds the release test binary,
# runs the suites that should notice, restores the source, and prints per
# mutation whether it was CAUGHT (and by which test cases) or MISSED.
# Not part of CI (each mutation costs a rebuild). Exit status: the number of
# missed mutations (0: every one caught).
#   tests/mutate.sh                 every mutation
#   tests/mutate.sh NAME...         only these
#   PYK_MUTATE_SUITES=a,b tests/mutate.sh   run these suites for every mutation
set -u
cd "$(dirname "$0")/.."
jobs=${PYK_JOBS:-2}
log_dir=bin/mutate-logs
mkdir -p "$log_dir"
bin=bin/tests/release/pyk-tests

# apply FILE FIND REPLACE: replaces the one occurrence, or fails.
apply() {
  python3 - "$@" <<'EOF'
import ast, sys
path, find, replace = sys.argv[1], ast.literal_eval(sys.argv[2]), ast.literal_eval(sys.argv[3])
text = open(path).read()
if text.count(find) != 1:
    sys.exit(f"{path}: the text to mutate occurs {text.count(find)} times, not once")
open(path, "w").write(text.replace(find, replace))
EOF
}

# failed_cases LOG: the test cases Boost.Test reported as failing, one line.
failed_cases() {
  grep -oE 'error: in "[^"]+"' "$1" | sed 's/error: in "\(.*\)"/\1/' | sort -u | head -n 6 |
    paste -sd ' ' -
}

selected=("$@")
missed=0
caught=0

# mutation NAME FILE FIND REPLACE SUITES: FIND (a Python string literal, which
# must occur exactly once in FILE) is replaced by REPLACE; the comma list
# SUITES is run against the result.
mutation() {
  local name=$1 file=$2 find=$3 replace=$4 suites=${PYK_MUTATE_SUITES:-$5}
  if [ ${#selected[@]} -gt 0 ] && [[ ! " ${selected[*]} " =~ " $name " ]]; then return; fi
  local backup log="$log_dir/$name.log"
  backup=$(mktemp)
  cp "$file" "$backup"
  if ! apply "$file" "$find" "$replace"; then
    echo "$name: NOT APPLIED (the source changed; update tests/mutate.sh)"
    missed=$((missed + 1))
    rm -f "$backup"
    return
  fi
  if ! b2 -j"$jobs" -q pyk-tests install-tests >"$log.build" 2>&1; then
    echo "$name: CAUGHT by the build (log: $log.build)"
    caught=$((caught + 1))
  elif timeout 900 "$bin" --run_test="$suites" --log_level=error --report_level=short \
      >"$log" 2>&1; then
    echo "$name: MISSED (suites $suites pass; log: $log)"
    missed=$((missed + 1))
  else
    local cases
    cases=$(failed_cases "$log")
    echo "$name: CAUGHT by ${cases:-a crash or timeout (see $log)}"
    caught=$((caught + 1))
  fi
  cp "$backup" "$file"  # restore; the new mtime makes b2 rebuild what the mutation changed
  rm -f "$backup"
}

mutation no-fdatasync backends/file_segment.cpp \
  "'  posix::fdatasync_fd(fd_.get(), path_);\n'" "''" durability,store
mutation no-fdatasync-on-mmap backends/mmap_segment.cpp \
  "'  posix::fdatasync_fd(fd_.get(), path_);\n'" "''" durability,store
mutation no-directory-fsync-for-a-new-segment core/log_writer.cpp \
  "'    directory_.sync();  // the new file'" "'    // the new file'" durability
mutation no-directory-fsync-after-merge-rename core/merge.cpp \
  "'    directory_->sync();\n    bytes_out += out_size;'" "'    bytes_out += out_size;'" durability
mutation no-directory-fsync-after-replace-rename core/replace_file.cpp \
  "'  directory.rename(filename::temp(final_name), final_name);\n  directory.sync();'" \
  "'  directory.rename(filename::temp(final_name), final_name);'" durability
mutation replace-leaves-its-temp-file-on-failure core/replace_file.cpp \
  "'      directory.remove(temp_name);\n    } catch (...) {'" "'    } catch (...) {'" \
  crash,keydir_snapshot,full_disk,durability
mutation crc-not-checked-on-read core/record_read.cpp \
  "'header.record_size() != record.size() || format::record_crc(record) != header.crc'" \
  "'header.record_size() != record.size()'" store,hint_files,bad_conditions
mutation crc-not-checked-in-recovery core/record_reader.cpp \
  "'  if (format::record_crc(std::span(bytes, header.record_size())) != header.crc)'" \
  "'  if (false)'" store,format_and_reader,log_reader,crash
mutation merge-drops-every-tombstone core/merge.cpp \
  "'          if (input.drops_tombstones) continue;'" "'          continue;'" merge,crash
mutation hints-drop-expiry core/hint_file.cpp \
  "'      e.expiry = r.header.expiry;'" "'      e.expiry = 0;'" hint_files
mutation hint-expiry-flag-not-read core/format.cpp \
  "'    if ((type_byte & kHintHasExpiry) != 0) at += 8;'" "'    if (false) at += 8;'" hint_files
mutation hint-offset-cut-to-24-bits core/format.cpp \
  "'    append_varint(out, e.offset);'" "'    append_varint(out, e.offset & 0xFFFFFF);'" hint_files
mutation hint-cursor-reads-too-little core/hint_file.cpp \
  "'std::min<std::uint64_t>(left, format::kHintMaxHeaderSize)'" "'std::min<std::uint64_t>(left, 8)'" \
  hint_files
mutation hint-superseded-asks-with-the-wrong-key core/hint_file.cpp \
  "'std::string_view(chunk).substr(v.end - v.key_size, v.key_size)'" \
  "'std::string_view(chunk).substr(v.start, v.key_size)'" hint_files
mutation fsck-trusts-hint-entries tools/lib/hints.cpp \
  "'  if (result.problem == nullptr && data) result.problem = entry_off_its_record(*data, bytes);'" \
  "'  (void)entry_off_its_record;'" tools_lib
mutation rotation-ignores-spares core/log_writer.cpp \
  "'  if (spares_.empty()) {'" "'  if (true) {'" background_sync
mutation spares-not-listed core/recovery.cpp \
  "'  if (spare_ids_.empty()) return listing;'" "'  return listing;'" background_sync
mutation spare-taken-after-a-newer-segment core/log_writer.cpp \
  "'  if (id <= active_id_ || (!spares_.empty() && id <= spares_.back().first)) return false;'" \
  "'  if (false) return false;'" background_sync
mutation close-keeps-spares core/store.cpp \
  "'    drop_spares(spares);'" "'    (void)spares;'" background_sync
mutation open-keeps-unused-spares core/recovery.cpp \
  "'    drop_unused_spares(unused);'" "'    (void)unused;'" background_sync
mutation refresh-reads-only-the-newest-segment core/refresh.cpp \
  "'    if (may_have_torn_tail(p.id, p.id == loaded.back().id))'" "'    if (p.id == loaded.back().id)'" \
  read_only
mutation refresh-compares-file-sizes core/refresh.cpp \
  "'std::equal(loaded.begin(), loaded.end(), order.begin(), same_file)'" \
  "'std::equal(loaded.begin(), loaded.end(), order.begin())'" read_only
mutation merge-leaves-retired-leftovers core/merge.cpp \
  "'  remove_retired_leftovers();\n\n'" "''" crash
mutation merge-takes-retired-inputs core/segment_set.cpp \
  "'&entry == active_ || entry.retired || st.bytes'" "'&entry == active_ || st.bytes'" crash
mutation merge-all-takes-retired-inputs core/segment_set.cpp \
  "'if (&entry == active_ || entry.retired) continue;'" "'if (&entry == active_) continue;'" crash
mutation batch-header-ignored-in-recovery core/log_reader.cpp \
  "'    } else if (!in_batch_) {'" "'    } else if (true) {'" log_reader,batch,crash
mutation group-commit-acks-before-the-sync core/group_commit.cpp \
  "'      sync_done_.wait(sync_lock);\n      continue;'" "'      break;'" concurrency,durability
mutation read-only-open-removes-unfinished-files core/recovery.cpp \
  "'kind == filename::Kind::temp && !options_.read_only'" "'kind == filename::Kind::temp'" \
  store_promises
mutation merge-switches-the-wrong-key core/merge.cpp \
  "'std::string_view(move_keys).substr(m.key_at, m.key_size)'" "'std::string_view(move_keys).substr(0, m.key_size)'" \
  merge
mutation automatic-merge-in-one-group core/segment_set.cpp \
  "'if (!group.empty() && total + live > live_bytes) break;'" "'(void)live_bytes;'" \
  merge,segment_set
mutation merge-last-chunk-unpaced core/merge.cpp \
  "'    if (!out) return;\n    append_paced();'" "'    if (!out) return;\n    out->append(format::as_bytes(pending));\n    pending.clear();'" \
  merge
mutation merge-forgets-expiry core/merge.cpp \
  "'    format::encode_record(pending, r.header.type, r.key, r.value, r.header.timestamp,\n                          r.header.expiry);'" \
  "'    format::encode_record(pending, r.header.type, r.key, r.value, r.header.timestamp, 0);'" \
  merge,hint_files
mutation snapshot-table-trusted core/keydir_snapshot.cpp \
  "'[&](std::uint32_t p) { return table_check.holds(p); }'" "'[&](std::uint32_t) { return true; }'" \
  keydir_snapshot
mutation snapshot-table-room-trusted core/keydir_table.cpp \
  "'available_ = std::min(available, capacity() > size_ ? capacity() - size_ : 0);'" "'available_ = available;'" \
  keydir_table
mutation mmap-reads-buffered-bytes-from-the-mapping backends/mmap_segment.cpp \
  "'  if (in_file(offset, n, appends_.in_file())) {'" "'  if (true) {'" \
  segment_conformance,store
mutation for-each-regions-not-per-segment core/record_read.h \
  "'return out.first_region[last] + std::min<std::size_t>(l.offset >> kRegionShift, regions - 1);'" \
  "'return std::min<std::size_t>(l.offset >> kRegionShift, regions - 1);'" \
  store
mutation for-each-region-sort-skips-low-digit core/record_read.cpp \
  "'for (int shift = 0; shift < 32; shift += kDigitBits) {'" "'for (int shift = kDigitBits; shift < 32; shift += kDigitBits) {'" \
  store
mutation merge-leftover-keeps-its-hint core/recovery.cpp \
  "'if (directory_->remove(filename::hint(position.id)))'" "'if (false)'" \
  integrity
mutation new-segment-id-ignores-hints core/recovery.cpp \
  "'if (parsed.kind == filename::Kind::data || parsed.kind == filename::Kind::hint)'" \
  "'if (parsed.kind == filename::Kind::data)'" \
  integrity
mutation arena-chunks-not-collapsed core/keydir.cpp \
  "'keydir_memory::collapse(chunks_.back().get(), kChunkSize);'" "''" keydir
mutation filled-chunks-in-small-pages core/keydir_memory.cpp \
  "'if (bytes >= kHugeFrom || (populate && length >= kHugePage))'" "'if (bytes >= kHugeFrom)'" keydir
mutation no-timed-merge-check core/recovery.cpp \
  "'auto_merge() ? options_.merge_check_interval : std::chrono::milliseconds{0}'" \
  "'std::chrono::milliseconds{0}'" merge
mutation io-ring-short-read-left-short backends/io_ring.cpp \
  "'if (got < reads[i].out.size())'" "'if (false)'" io_uring_reads
mutation io-ring-result-ignored backends/io_ring.cpp \
  "'if (res < 0) throw_io_error('" "'if (false) throw_io_error('" io_uring_reads
mutation get-many-reads-the-wrong-record core/store_read.cpp \
  "'reads[count++] = {found[i].location.offset,'" "'reads[count++] = {found[i].location.offset + 1,'" get_many
mutation close-hint-published-before-sync core/hint_file.cpp \
  "'if (durable) durable();'" "''" crash
mutation no-zeros-ahead backends/append_buffer.cpp \
  "'  zero_ahead(zero_limit);'" "''" segment_conformance,read_only,hint_files
mutation seal-hides-the-zeros backends/append_buffer.cpp \
  "'if (zeroed_end_ > flushed_ && buffer_.empty())'" "'if (false)'" segment_conformance,hint_files
mutation zeros-ahead-fail-a-full-disk backends/append_buffer.cpp \
  "'zeroing_stopped_ = true;\n    return;'" "'throw;'" full_disk

mutation second-writer-not-locked backends/posix_lock.cpp \
  "'  if (!locked) throw LockError('" "'  if (false) throw LockError('" backend_specific
mutation manifest-crc-not-checked core/manifest.cpp \
  "'  if (crc != crc32c::value(bytes.first(bytes.size() - 4))) return'" "'  if (false) return'" \
  integrity,crash
mutation keydir-snapshot-crc-not-checked core/keydir_snapshot.cpp \
  "'crc_scratch).data()) != reader.crc())'" "'crc_scratch).data()) != reader.crc() && false)'" \
  keydir_snapshot
mutation hint-entry-crc-not-checked core/format.cpp \
  "'  if (verify_crc && load_le'" "'  if (false && load_le'" hint_files,crash
mutation max-key-size-not-checked core/store_write.cpp \
  "'  if (key.size() > options_.max_key_size)'" "'  if (false)'" store,api_edges,store_promises

mutation expiry-ignored core/store_impl.h \
  "'    return location.expiry != 0 && location.expiry <= now;'" "'    return false;'" \
  store,store_api,api_edges,expiry_accounting
mutation interval-never-syncs core/group_commit.cpp \
  "'    try {\n      sync_all();'" "'    try {\n      (void)0;'" durability,group_commit
mutation get-serves-another-keys-record core/record_read.cpp \
  "'  if (record.key != key)'" "'  if (false)'" keydir_snapshot,integrity,get_many
mutation value-size-not-checked core/store_write.cpp \
  "'  if (value.size() > options_.max_value_size)'" "'  if (false)'" store,api_edges,store_promises
mutation server-bulk-length-unbounded tools/server/resp_parser.cpp \
  "'if (length < 0 || static_cast<unsigned long long>(length) > limits_.max_bulk)'" \
  "'if (length < 0)'" server_resp,server_commands
mutation server-query-buffer-unbounded tools/server/resp_parser.cpp \
  "'      if (command_bytes_ + static_cast<std::size_t>(length) > limits_.max_command)'" \
  "'      if (false)'" server_resp,server_commands

mutation merge-rank-ignored core/replay_order.h \
  "'  return header.merge_rank != 0 ? header.merge_rank : id;'" "'  return id;'" \
  merge,crash,integrity,hint_files
mutation sync-skips-sealed-segments core/group_commit.cpp \
  "'      for (const auto& sealed : target.sealed) sealed->sync();\n'" "''" \
  durability,background_sync,crash
mutation torn-tail-mode-keeps-damage-in-the-middle core/recovery_rule.cpp \
  "'  if (mode == RecoveryMode::torn_tail)\n'" "'  if (false)\n'" recovery_mode,crash

mutation read-gate-close-skips-unlisted-slots core/read_gate.h \
  "'      used_slots_.fetch_or(bit, std::memory_order_seq_cst);'" "'      (void)bit;'" read_gate
mutation read-gate-close-waits-for-nothing core/read_gate.h \
  "'      wait_until_zero(slots_[static_cast<std::size_t>(std::countr_zero(used))].lookups);'" "'      ;'" \
  read_gate
mutation mmap-pages-not-warmed backends/page_warmer.cpp \
  "'    for (std::uint64_t at = from; at < to; at += page_size()) (void)pages[at];'" "'    (void)pages;'" \
  page_warmer
mutation page-warmer-cut-does-not-wait backends/page_warmer.cpp \
  "'  std::scoped_lock lock(touching_, mu_);'" "'  std::scoped_lock lock(mu_);'" page_warmer
mutation page-warmer-warms-what-it-opened-with backends/page_warmer.cpp \
  "'  requested_ = target_ = done_ = from;'" "'  (void)from;'" page_warmer
mutation mmap-read-many-through-the-mapping backends/mmap_segment.cpp \
  "'      if (!r.out.empty()) posix::pread_exact(fd_.get(), r.out, r.offset, path_);'" \
  "'      read_into(r.offset, r.out);'" page_warmer
mutation crc32c-fold-wrong-constant core/crc32c.cpp \
  "'constexpr FoldConstants kFold48{0x1c291d04, 0xddc0152b};'" \
  "'constexpr FoldConstants kFold48{0x1c291d05, 0xddc0152b};'" crc32c_streams

echo "rebuilding the unmutated tests"
b2 -j"$jobs" -q pyk-tests install-tests >"$log_dir/restore.build" 2>&1 || echo "restore build FAILED"
echo "$caught caught, $missed missed"
exit "$missed"
