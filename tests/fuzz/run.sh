#!/usr/bin/env bash
# Builds the libFuzzer targets with clang++ (-fsanitize=fuzzer,address,undefined)
# and runs each for a fixed number of inputs over its seed corpus (compiling
# and running PYK_JOBS at a time, all cores by default), reporting
# the edges it covered (libFuzzer's "cov", out of the instrumented total).
# Needs clang++ 14 and, on Debian, libclang-rt-14-dev (the libFuzzer runtime).
#   tests/fuzz/run.sh                 build, then PYK_FUZZ_RUNS (10000) inputs per target,
#                                     half that for open and fsck
#   tests/fuzz/run.sh --make-corpus   regenerate tests/fuzz/corpus/ first
#   PYK_FUZZ_TARGETS="open fsck"      only these targets
# Ends with "fuzz: PASS" (exit 0) or "fuzz: FAIL" (exit 1); crash inputs and
# logs are left in bin/fuzz/.
set -u
cd "$(dirname "$0")/../.."
cxx=${PYK_FUZZ_CXX:-clang++}
runs=${PYK_FUZZ_RUNS:-10000}
out=bin/fuzz
mkdir -p "$out/obj"
common=(-std=c++20 -O1 -g -I. -fno-sanitize-recover=all -fsanitize=address,undefined -pthread)
# The engine's decoders, Store::open over whole directories and over edited
# keydir snapshots, and the tools' parsers: the Python pyk reader, JSON
# import, fsck --repair.
read -r -a targets <<<"${PYK_FUZZ_TARGETS:-open fsck keydir_snapshot import python_pyk record_reader hint}"  # the slowest first
# Inputs up to this many bytes (a multi-segment store needs room).
max_len() { case $1 in open | fsck) echo 40000 ;; *) echo 8192 ;; esac; }
# Inputs to run: half for the targets whose every input is a whole store
# directory written to /dev/shm and opened or checked (3-8 ms each here),
# so that the two lanes of a 2-core machine finish together.
runs_of() { case $1 in open | fsck) echo $((runs / 2)) ;; *) echo "$runs" ;; esac; }
# Targets that need the tools' library on top of the engine.
needs_tools() { case $1 in python_pyk | import | fsck) return 0 ;; *) return 1 ;; esac; }

fail() { echo "fuzz: FAIL ($*)"; exit 1; }

# The engine and backends, built once per change with fuzzer coverage
# instrumentation, PYK_JOBS (all cores) at a time.
jobs=${PYK_JOBS:-$(nproc)}
objects=()
tool_objects=()
stale=()
for src in core/*.cpp backends/*.cpp tools/lib/*.cpp; do
  obj="$out/obj/$(echo "$src" | tr / _).o"
  if [ ! -f "$obj" ] || [ "$src" -nt "$obj" ] || [ -n "$(find core backends tools/lib -name '*.h' -newer "$obj" | head -n1)" ]; then
    stale+=("$src")
  fi
  case $src in tools/*) tool_objects+=("$obj") ;; *) objects+=("$obj") ;; esac
done
export cxx out
export common_flags="${common[*]}"
if [ ${#stale[@]} -gt 0 ]; then
  printf '%s\n' "${stale[@]}" | xargs -P "$jobs" -I{} bash -c '
    obj="$out/obj/$(echo "$1" | tr / _).o"
    echo "== compiling $1"
    # shellcheck disable=SC2086  # the flags are words
    "$cxx" $common_flags -fsanitize=fuzzer-no-link -c "$1" -o "$obj.part" && mv "$obj.part" "$obj"
  ' _ {} || fail "compiling the engine (see the errors above)"
fi
tool_libs=("${tool_objects[@]}" -lboost_program_options)

if [ "${1:-}" = "--make-corpus" ]; then
  "$cxx" "${common[@]}" tests/fuzz/make_corpus.cpp "${tool_libs[@]}" "${objects[@]}" \
    -o "$out/make_corpus" || fail "building make_corpus"
  rm -rf tests/fuzz/corpus
  "$out/make_corpus" tests/fuzz/corpus || fail "make_corpus"
fi

# fuzz_target T: builds and runs one target; its report goes to $out/$t.report
# (a line "== T_fuzz: ok ..." or "... CRASHED ..." last).
fuzz_target() {
  local t=$1 extra=()
  if needs_tools "$t"; then extra=("${tool_libs[@]}"); fi
  echo "== building ${t}_fuzz"
  "$cxx" "${common[@]}" -fsanitize=fuzzer "tests/fuzz/${t}_fuzz.cpp" "${extra[@]}" "${objects[@]}" \
    -o "$out/${t}_fuzz" || { echo "== ${t}_fuzz: CRASHED (it did not build)"; return; }
  # Work on a copy: libFuzzer adds new inputs to its first corpus directory.
  # An empty or missing seed corpus is an error, not a silent start from nothing.
  rm -rf "$out/corpus-$t" && mkdir -p "$out/corpus-$t"
  if ! cp tests/fuzz/corpus/"$t"/* "$out/corpus-$t"/ || [ -z "$(ls "$out/corpus-$t")" ]; then
    echo "== ${t}_fuzz: CRASHED (its seed corpus is missing or empty)"
    return
  fi
  echo "== running ${t}_fuzz for $(runs_of "$t") inputs"
  # -detect_leaks=0: no LeakSanitizer pass after each input whose mallocs and
  # frees differ (the store's threads make that most inputs; it halved
  # open_fuzz's speed). A leak still fails the run: LeakSanitizer checks the
  # whole process at exit, and a leak makes it exit nonzero.
  if "$out/${t}_fuzz" -runs="$(runs_of "$t")" -seed=1 -max_len="$(max_len "$t")" -detect_leaks=0 \
      -artifact_prefix="$out/${t}-" "$out/corpus-$t" >"$out/$t.log" 2>&1; then
    local edges cov
    edges=$(grep -oE 'INFO: Loaded [0-9]+ modules +\([0-9]+ inline 8-bit counters' "$out/$t.log" |
      head -n1 | grep -oE '[0-9]+ inline' | cut -d' ' -f1)
    cov=$(grep -oE 'cov: [0-9]+' "$out/$t.log" | tail -n1 | cut -d' ' -f2)
    echo "== ${t}_fuzz: ok ($(grep -oE 'Done [0-9]+ runs in [0-9]+ second' "$out/$t.log" | tail -n1)s;" \
      "coverage: ${cov:-?} of ${edges:-?} edges)"
  else
    tail -n 30 "$out/$t.log"
    echo "== ${t}_fuzz: CRASHED (log: $out/$t.log, input: $out/${t}-*)"
  fi
}

# The targets run $jobs at a time (each is one thread); reports in target order.
running=0
for t in "${targets[@]}"; do
  fuzz_target "$t" >"$out/$t.report" 2>&1 &
  running=$((running + 1))
  if [ "$running" -ge "$jobs" ]; then wait -n; running=$((running - 1)); fi
done
wait
status=0
for t in "${targets[@]}"; do
  cat "$out/$t.report"
  tail -n 1 "$out/$t.report" | grep -q "_fuzz: ok" || status=1
done
if [ "$status" -eq 0 ]; then echo "fuzz: PASS"; else echo "fuzz: FAIL"; fi
exit "$status"
