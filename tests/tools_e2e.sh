#!/usr/bin/env bash
# End-to-end tests of the built programs: stores made with `pyk`, damaged on
# purpose, checked with pyk-dump / pyk-fsck. Ends with "N passed, N failed,
# N skipped" (checks). A setup step that fails counts as a failed check.
#   PYK_BIN_DIR=bin/release tests/tools_e2e.sh
set -u
bin=${PYK_BIN_DIR:-bin/release}
for p in pyk pyk-dump pyk-fsck; do
  [ -x "$bin/$p" ] || { echo "tools_e2e: $bin/$p not built (b2 stage); 0 passed, 1 failed"; exit 1; }
done
passed=0 failed=0 skipped=0
set -o pipefail  # a pipeline whose producer fails is a failure, not empty output
work=$(mktemp -d)
trap 'chmod -R u+rwx "$work" 2>/dev/null; rm -rf "$work"' EXIT
ok() { passed=$((passed + 1)); }
bad() { failed=$((failed + 1)); echo "FAIL: $*"; }
skip() { skipped=$((skipped + 1)); echo "skip: $*"; }
# step NAME command...: a setup step; only its failure is counted.
# (Messages go to stderr: the step's stdout may be a file it writes.)
step() { "${@:2}" 2>"$work/err" || { bad "setup: $1: exit $?" >&2; head -3 "$work/err" >&2; }; }
# expect NAME EXIT_CODE command... : checks the exit code, output in $work/out
expect() {
  local name=$1 code=$2; shift 2
  timeout 60 "$@" >"$work/out" 2>"$work/err"; local got=$?
  if [ "$got" -eq "$code" ]; then ok; else bad "$name: exit $got, want $code"; cat "$work/err" | head -3; fi
}
has() { if grep -q -- "$2" "$work/out"; then ok; else bad "$1: output lacks '$2'"; head -5 "$work/out"; fi; }
make_store() {
  rm -rf "$1"; mkdir -p "$1"
  { "$bin/pyk" -d "$1" put alpha one && "$bin/pyk" -d "$1" put beta two &&
    "$bin/pyk" -d "$1" del beta && "$bin/pyk" -d "$1" put gamma three; } >/dev/null ||
    bad "setup: make_store $1"
}
flip() { # flip FILE OFFSET: xor one byte with 0x01
  local b; b=$(od -An -tu1 -j"$2" -N1 "$1" | tr -d ' ')
  [ -n "$b" ] && printf "$(printf '\\%03o' $((b ^ 1)))" | dd of="$1" bs=1 seek="$2" conv=notrunc 2>/dev/null ||
    bad "setup: flip $1 $2"
}
# last_key_byte HINT: the offset of the last key byte in a hint file (the end
# entry, 24 bytes, follows it), where a flip is a checksum mismatch.
last_key_byte() { echo $(( $(stat -c %s "$1") - 25 )); }
S=$work/s; D=$S/0000000001.data

for p in pyk pyk-dump pyk-fsck; do
  expect "$p --help" 0 "$bin/$p" --help; has "$p --help" "Examples"
  expect "$p --version" 0 "$bin/$p" --version
  expect "$p --bogus" 2 "$bin/$p" --bogus
done

make_store "$S"
expect "clean fsck" 0 "$bin/pyk-fsck" "$S"; has "clean fsck" "problems=0"
expect "clean dump" 0 "$bin/pyk-dump" "$S"; has "clean dump" "records=4"
expect "get" 0 "$bin/pyk" -d "$S" get alpha; has get "^one$"
expect "get missing" 1 "$bin/pyk" -d "$S" get beta

# Bit flips in header (type byte), key and value of the first record (offset 32),
# the only segment and so the newest. Point-in-time recovery (the default)
# keeps the log up to the damage, here nothing: the store opens empty, and
# --repair moves the rest to quarantine as open would. With --recovery-mode
# torn_tail open refuses, and --repair salvages the valid records instead.
for off in 36 64 68 0 20; do
  make_store "$S"; flip "$D" $off
  expect "flip $off fsck" 1 "$bin/pyk-fsck" --json "$S"
  if [ $off -lt 32 ]; then has "flip $off" '"kind":"bad_'; else has "flip $off" '"offset":32,"length":[0-9]*,"kind":"damaged_region"'; fi
  has "flip $off explains" 'point_in_time'
  expect "flip $off pyk get" 1 "$bin/pyk" -d "$S" get alpha
  expect "flip $off repair" 1 "$bin/pyk-fsck" --repair "$S"
  snap=$(cd "$S" && find . -type f | sort | xargs md5sum)
  expect "flip $off repair twice" 0 "$bin/pyk-fsck" --repair "$S"
  [ "$snap" = "$(cd "$S" && find . -type f | sort | xargs md5sum)" ] && ok || bad "flip $off: second repair changed files"
  expect "flip $off open after repair" 1 "$bin/pyk" -d "$S" get gamma
  [ -n "$(ls "$S/quarantine")" ] && ok || bad "flip $off: nothing in quarantine"
  make_store "$S"; flip "$D" $off
  expect "flip $off torn_tail repair" 1 "$bin/pyk-fsck" --repair --recovery-mode torn_tail "$S"
  expect "flip $off torn_tail open after repair" 0 "$bin/pyk" -d "$S" get gamma
done
expect "fsck bad recovery mode" 2 "$bin/pyk-fsck" --recovery-mode sloppy "$S"

# Truncation at every byte of the last record (gamma=three: 42 bytes).
make_store "$S"; size=$(stat -c %s "$D"); cp "$D" "$work/orig"
for cut in $(seq $((size - 41)) $((size - 1))); do
  rm -rf "$S/quarantine"; step "cut $cut" head -c "$cut" "$work/orig" >"$D"
  expect "cut $cut" 1 "$bin/pyk-fsck" "$S"; has "cut $cut" "@$((size - 42)) length=$((cut - size + 42)) torn_tail"
  expect "cut $cut repair" 1 "$bin/pyk-fsck" --repair "$S"
  cmp -s "$S/quarantine/0000000001.data.$((size - 42))-$cut" <(tail -c +$((size - 41)) "$work/orig" | head -c $((cut - size + 42))) && ok || bad "cut $cut: quarantine bytes differ"
done

# Garbage appended, a zeroed region, wrong magic, an empty file.
make_store "$S"; step garbage echo "garbage garbage garbage garbage garbage" >>"$D"
expect "garbage" 1 "$bin/pyk-fsck" "$S"; has garbage "@$size length=40 torn_tail"
make_store "$S"; step zeroed dd if=/dev/zero of="$D" bs=1 seek=40 count=20 conv=notrunc
expect "zeroed" 1 "$bin/pyk-dump" "$S"; has zeroed "@32 BAD"
make_store "$S"; step "wrong magic" dd of="$D" bs=1 seek=0 conv=notrunc < <(printf 'XXXX')
expect "wrong magic" 1 "$bin/pyk-fsck" "$S"; has "wrong magic" "bad_magic"
expect "wrong magic repair" 1 "$bin/pyk-fsck" --repair --recovery-mode torn_tail "$S"
expect "wrong magic after" 0 "$bin/pyk" -d "$S" get alpha  # salvaged under a new header
: >"$work/empty"
expect "empty file dump" 1 "$bin/pyk-dump" "$work/empty"
expect "empty file fsck" 1 "$bin/pyk-fsck" "$work/empty"; has "empty" "empty_file"
head -c 100000 /dev/urandom >"$work/random"
expect "random file" 1 "$bin/pyk-dump" "$work/random"
expect "missing path" 2 "$bin/pyk-fsck" "$work/nope"

# A directory without permission: as root, run the check as nobody.
make_store "$S"; chmod 000 "$S"
if [ "$(id -u)" -ne 0 ]; then
  expect "no permission" 2 "$bin/pyk-fsck" "$S"
elif command -v setpriv >/dev/null; then
  chmod o+rx "$work"
  expect "no permission (as nobody)" 2 setpriv --reuid=65534 --regid=65534 --clear-groups "$bin/pyk-fsck" "$S"
else
  skip "permission test needs a non-root user or setpriv"
fi
chmod 755 "$S"

# dump -> import round trip is exact.
make_store "$S"; step "put blob" "$bin/pyk" -d "$S" put blob - < <(printf 'bin\0ary\377')
step "dump --json --live" "$bin/pyk-dump" --json --live "$S" >"$work/dump.jsonl"
expect "import" 0 "$bin/pyk" -d "$work/copy" import "$work/dump.jsonl"
# export_records STORE OUT: the records of an export, without what a copy changes.
export_records() {
  "$bin/pyk" -d "$1" export | { grep -v summary || true; } |
    sed 's/"offset":[0-9]*,//;s/"timestamp_us":[0-9]*,"time":"[^"]*",//;s/"file_size":[0-9]*//' >"$2" ||
    bad "setup: export of $1"
}
export_records "$work/copy" "$work/b"
export_records "$S" "$work/a"
# alpha, gamma, blob: an empty export must not pass as equal to another.
[ "$(grep -c '"key"' "$work/a")" -eq 3 ] && ok || bad "export of $S: not the 3 live records"
cmp -s <(sort "$work/a") <(sort "$work/b") && ok || bad "round trip differs"
"$bin/pyk" -d "$work/copy" get --raw blob | cmp -s - <(printf 'bin\0ary\377') && ok || bad "binary value differs"

# pyk merge: a big value fills a segment, which close seals (with a hint);
# overwriting it leaves a sealed segment of dead bytes for merge to drop.
M=$work/m
rm -rf "$M"; mkdir -p "$M"
head -c 9000000 /dev/urandom >"$work/big1"; head -c 9000000 /dev/urandom >"$work/big2"
step "fill" "$bin/pyk" -d "$M" put big - <"$work/big1"
step "fill" "$bin/pyk" -d "$M" put big - <"$work/big2"
step "fill" "$bin/pyk" -d "$M" put small one
expect "merge nothing yet" 0 "$bin/pyk" -d "$work/copy" merge; has "merge nothing yet" "nothing to merge"
expect "merge" 0 "$bin/pyk" -d "$M" merge; has merge "merged: segments 3 -> 2, disk bytes"
before=$(sed -n 's/.*disk bytes \([0-9]*\) -> \([0-9]*\)/\1 \2/p' "$work/out")
[ "${before% *}" -gt $(( ${before#* } + 8000000 )) ] && ok || bad "merge: disk bytes $before did not drop by the dead value"
expect "merge get" 0 "$bin/pyk" -d "$M" get --raw big
cmp -s "$work/out" "$work/big2" && ok || bad "merge: value after merge differs"
expect "merge fsck" 0 "$bin/pyk-fsck" "$M"; has "merge fsck" "problems=0"
expect "merge json" 0 "$bin/pyk" -d "$M" merge --json; has "merge json" '"merged":false,"segments_before":2'
# After the merge the output has the highest id but replays first: overwrite
# in the segment written to since, and the tools must agree with get.
step "overwrite big" "$bin/pyk" -d "$M" put big newest
step "overwrite small" "$bin/pyk" -d "$M" put small two
expect "merged live dump" 0 "$bin/pyk-dump" --live "$M"; has "merged live dump" 'key="big" value="newest"'
has "merged live dump" "records=2 "
step "export $M" "$bin/pyk" -d "$M" export >"$work/m.jsonl"
expect "merged import" 0 "$bin/pyk" -d "$work/m2" import "$work/m.jsonl"
expect "merged import get" 0 "$bin/pyk" -d "$work/m2" get big; has "merged import get" "^newest$"
expect "merged dump hints" 0 "$bin/pyk-dump" --hints "$M"; has "merged dump hints" "hint-value key=\"big\""
has "merged dump hints" "hint check against .*: ok, 1 entries"
# A damaged hint: reported (exit 1), rebuilt by --repair, and a second repair changes nothing.
H=$(ls "$M"/*.hint | head -1)
flip "$H" $(last_key_byte "$H")
expect "bad hint dump" 1 "$bin/pyk-dump" "$H"; has "bad hint dump" "crc=BAD"
expect "bad hint fsck" 1 "$bin/pyk-fsck" "$M"; has "bad hint fsck" "bad_hint: hint entry checksum mismatch"
has "bad hint fsck" "repair: rebuild the hint file"
expect "bad hint repair" 1 "$bin/pyk-fsck" --repair "$M"
snap=$(cd "$M" && find . -type f | sort | xargs md5sum)
expect "bad hint repair twice" 0 "$bin/pyk-fsck" --repair "$M"
[ "$snap" = "$(cd "$M" && find . -type f | sort | xargs md5sum)" ] && ok || bad "bad hint: second repair changed files"
expect "rebuilt hint dump" 0 "$bin/pyk-dump" "$H"

# A live writer (an import waiting for its input holds the store open): a
# second writer and --repair are refused with exit 4 and change nothing; a
# check (read-only) still runs.
make_store "$S"; mkfifo "$work/fifo"
"$bin/pyk" -d "$S" import - <"$work/fifo" >/dev/null 2>&1 &
writer=$!
exec 9>"$work/fifo"  # the import starts once its input is open
for _ in $(seq 100); do  # until the writer holds the lock (a repair of a clean store changes nothing)
  "$bin/pyk-fsck" --repair "$S" >/dev/null 2>&1; [ $? -eq 4 ] && break; sleep 0.05
done
snap=$(cd "$S" && find . -type f | sort | xargs md5sum)
expect "live writer: second writer" 4 "$bin/pyk" -d "$S" put other x
expect "live writer: repair" 4 "$bin/pyk-fsck" --repair "$S"
expect "live writer: check" 0 "$bin/pyk-fsck" "$S"
[ "$snap" = "$(cd "$S" && find . -type f | sort | xargs md5sum)" ] && ok || bad "live writer: refused calls changed files"
echo '{"key":"from-import","value":"v"}' >&9
exec 9>&-
wait "$writer" && ok || bad "live writer: the import failed"
expect "after the writer" 0 "$bin/pyk" -d "$S" get from-import; has "after the writer" "^v$"
expect "repair after the writer" 0 "$bin/pyk-fsck" --repair "$S"

# Damage never becomes an older value. A store of 100 keys written in three
# rounds; each round ends with a 9 MB pad so close seals and hints its segment:
# key70's newest record is in segment 3, older ones in segments 1 and 2.
I=$work/integrity
make_history() {
  rm -rf "$I"; mkdir -p "$I"
  for round in 1 2 3; do
    for k in $(seq 0 99); do "$bin/pyk" -d "$I" put "key$k" "round$round-of-key$k" || return 1; done
    head -c 9000000 /dev/zero | "$bin/pyk" -d "$I" put pad - || return 1
  done
  "$bin/pyk" -d "$I" put small one
}
# offset_of KEY FILE: where KEY's record starts in FILE
offset_of() { "$bin/pyk-dump" --json --key "$1" "$2" | sed -n 's/.*"offset":\([0-9]*\).*"type":"value".*/\1/p' | tail -1; }
make_history && ok || bad "history store"
off=$(offset_of key70 "$I/0000000003.data")
flip "$I/0000000003.data" $((off + 32 + 5 + 3))
expect "damaged newest: get" 3 "$bin/pyk" -d "$I" get key70
expect "damaged newest: export" 1 "$bin/pyk" -d "$I" export; cp "$work/out" "$work/damaged.jsonl"
has "damaged newest: export marks it" '"damaged_key":"key70"'
grep -q '"key":"key70"' "$work/damaged.jsonl" && bad "export shows an older key70" || ok
expect "damaged newest: import refuses" 2 "$bin/pyk" -d "$work/imported" import "$work/damaged.jsonl"
grep -q "line [0-9]*: the export marks damage" "$work/err" && ok || { bad "import: no line number"; head -2 "$work/err"; }
expect "damaged newest: nothing imported" 1 "$bin/pyk" -d "$work/imported" get key0
expect "damaged newest: dump --live" 1 "$bin/pyk-dump" --live "$I"
has "damaged newest: dump --live marks it" 'DAMAGED key="key70"'
grep -q 'key="key70" value=' "$work/out" && bad "dump --live shows an older key70" || ok
expect "damaged newest: fsck" 1 "$bin/pyk-fsck" --json "$I"; has "fsck names the key" '"kind":"reverted_key".*"key":"key70"'
expect "damaged newest: repair refused" 1 "$bin/pyk-fsck" --repair "$I"; has "repair refused" "not repaired"
grep -q "accept-reverted" "$work/err" && ok || bad "repair refusal does not name --accept-reverted"
expect "damaged newest: still damaged" 3 "$bin/pyk" -d "$I" get key70
[ -d "$I/quarantine" ] && bad "a refused repair made quarantine/" || ok
expect "damaged newest: accepted repair" 1 "$bin/pyk-fsck" --repair --accept-reverted "$I"; has "accepted repair" 'reverted_key: .*older value'
expect "damaged newest: after repair" 0 "$bin/pyk" -d "$I" get key70; has "older value after an accepted repair" "^round2-of-key70$"

# A sealed middle datafile cut at a record boundary: only the manifest knows.
make_history
off=$(offset_of key50 "$I/0000000002.data")
head -c "$off" "$I/0000000002.data" >"$work/cut" && cat "$work/cut" >"$I/0000000002.data"
expect "cut sealed: get" 3 "$bin/pyk" -d "$I" get key0
expect "cut sealed: fsck" 1 "$bin/pyk-fsck" "$I"; has "cut sealed: fsck" "truncated_segment"
expect "cut sealed: export" 3 "$bin/pyk" -d "$I" export

# A sealed middle datafile deleted: a lost file, not a merge gap; its hint is kept.
make_history
rm "$I/0000000002.data"
expect "deleted sealed: fsck" 1 "$bin/pyk-fsck" "$I"; has "deleted sealed: fsck" "missing_segment"
grep -q "normal after a merge" "$work/out" && bad "deleted segment called a merge gap" || ok
expect "deleted sealed: writer open refuses" 3 "$bin/pyk" -d "$I" put x y
[ -f "$I/0000000002.hint" ] && ok || bad "the hint of the deleted segment was removed"
expect "deleted sealed: still reported" 1 "$bin/pyk-fsck" "$I"; has "deleted sealed: still" "missing_segment"

# A hint file the reader may not read: never fatal, for readers and fsck.
if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null; then
  make_history; chmod o+rx "$work"; chown -R 65534:65534 "$I"; chmod 000 "$I/0000000002.hint"
  as_nobody="setpriv --reuid=65534 --regid=65534 --clear-groups"
  expect "unreadable hint: get" 0 $as_nobody "$bin/pyk" -d "$I" get key70
  expect "unreadable hint: fsck" 1 $as_nobody "$bin/pyk-fsck" "$I"; has "unreadable hint: fsck" "bad_hint: unreadable"
  expect "unreadable hint: repair" 1 $as_nobody "$bin/pyk-fsck" --repair "$I"
  [ -d "$I/quarantine" ] && bad "quarantine/ made though nothing moved there" || ok
  expect "unreadable hint: clean after" 0 $as_nobody "$bin/pyk-fsck" "$I"
else
  echo "skip: unreadable-hint test needs root and setpriv"
fi

# Tools tell the truth: only put and import create a store; real paths in
# messages; UTF-8 keys as they are; the backends in --help; one finding per
# problem; no note for the LOCK file every clean close leaves.
for cmd in "del x" "get x" "keys" "stats" "merge" "export"; do
  expect "missing dir: $cmd" 2 "$bin/pyk" -d "$work/absent" $cmd
  [ -e "$work/absent" ] && { bad "missing dir: $cmd created it"; rm -rf "$work/absent"; } || ok
done
grep -q "no store at $work/absent" "$work/err" && ok || bad "missing dir: message lacks the path"
expect "help lists backends" 0 "$bin/pyk" --help; has "help lists backends" "file, mmap, memory"
make_store "$S"; "$bin/pyk" -d "$S" put "clé-日本" v
expect "utf-8 keys" 0 "$bin/pyk" -d "$S" keys; has "utf-8 keys" "^clé-日本$"
expect "utf-8 dump" 0 "$bin/pyk-dump" "$S"; has "utf-8 dump" 'key="clé-日本"'
expect "clean store: no lock note" 0 "$bin/pyk-fsck" "$S"
grep -q "stale_lock\|LOCK" "$work/out" && bad "fsck notes the LOCK of a clean close" || ok
# (damage in a sealed segment, found by the get; in the active one
# point_in_time recovery would set it aside at open)
make_history; off=$(offset_of key70 "$I/0000000003.data"); flip "$I/0000000003.data" $((off + 40))
expect "damaged: message names the directory" 3 "$bin/pyk" -d "$I" get key70
grep -q "pyk-fsck --repair $I" "$work/err" && ok || { bad "damage message lacks the real path"; head -3 "$work/err"; }
grep -q " DIR" "$work/err" && bad "damage message says DIR" || ok
make_history; flip "$I/0000000001.hint" $(last_key_byte "$I/0000000001.hint")
expect "bad hint: one finding" 1 "$bin/pyk-fsck" "$I"
[ "$(grep -c '0000000001.hint' "$work/out")" -eq 1 ] && ok || { bad "bad hint: more than one finding for the file"; grep 0000000001.hint "$work/out"; }
checked=$(sed -n 's/.*problems=\([0-9]*\).*/\1/p' "$work/out")
expect "bad hint: repair" 1 "$bin/pyk-fsck" --repair "$I"
[ "$(sed -n 's/.*problems=\([0-9]*\).*/\1/p' "$work/out")" = "$checked" ] && ok || bad "check and repair count differently"

# A Python pyk file: one record a=1, CRC-32("1") = 0x83dcefb7.
printf '\xb7\xef\xdc\x83\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x01\x00\x00\x00a1' >"$work/file.db"
expect "python dump" 0 "$bin/pyk-dump" "$work/file.db"; has "python dump" "Python pyk"
expect "python import" 0 "$bin/pyk" -d "$work/py" import --from-python-pyk "$work/file.db"
expect "python get" 0 "$bin/pyk" -d "$work/py" get a; has "python get" "^1$"

echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
