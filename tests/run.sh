#!/usr/bin/env bash
# Builds and runs every test: each Boost.Test suite on its own, under a
# timeout, in the release build, again under AddressSanitizer +
# UndefinedBehaviorSanitizer, and under ThreadSanitizer every suite that
# starts threads (all but the Jamfile's tsan-skip); then the tools
# end-to-end checks, the install test and the fuzz targets. (`b2 test` runs
# the same suites in two processes, without the timeouts.)
# Reports what each run counted (test cases, checks, fuzz targets), with
# skips, and ends with one line "N passed, N failed" (the sum of them all);
# logs are in bin/test-logs/.
#   tests/run.sh               everything
#   PYK_QUICK=1 tests/run.sh   release build only
#   PYK_SUITE_TIMEOUT=S        seconds a suite may take before it counts as hung (600)
set -u
cd "$(dirname "$0")/.."
jobs=${PYK_JOBS:-$(nproc)}
suite_timeout=${PYK_SUITE_TIMEOUT:-600}
log_dir=bin/test-logs
mkdir -p "$log_dir"
passed=0
failed=0
summary=()  # one line per run, repeated at the end
timings=()  # "seconds phase", the slowest repeated at the end
started=$SECONDS

# timed PHASE COMMAND...: runs COMMAND, keeps its wall time under PHASE.
timed() {
  local phase=$1 t0=$SECONDS status
  shift
  "$@"
  status=$?
  timings+=("$((SECONDS - t0)) $phase")
  return $status
}

# tally LABEL PASSED FAILED SKIPPED WHAT: adds one run to the totals.
tally() {
  passed=$((passed + $2))
  failed=$((failed + $3))
  summary+=("$1: $2 $5 passed, $3 failed, $4 skipped")
}

# suites BINARY: "name cases" for each top-level suite of the test binary.
suites() {
  "$1" --list_content 2>&1 | awk '
    /^[^ ]/ { name = $0; sub(/\*$/, "", name); order[++n] = name; cases[name] = 0; next }
    /^    [^ ]/ { cases[name]++ }
    END { for (i = 1; i <= n; i++) print order[i], cases[order[i]] }'
}

# count WHAT LOG: the number of test cases Boost.Test's summary gives as WHAT.
count() {
  grep -oE "[0-9]+ test cases? out of [0-9]+ $1" "$2" | head -n1 | cut -d' ' -f1
}

# run_suite VARIANT BINARY SUITE CASES TOTAL: runs one suite, sets p f s (its
# test cases passed, failed, skipped).
run_suite() {
  local variant=$1 binary=$2 suite=$3 cases=$4 total=$5 log="$log_dir/$1.$3.log" status
  timed "$variant/$suite" timeout --kill-after=30 "$suite_timeout" "$binary" --run_test="$suite" \
    --report_level=short --log_level=test_suite --color_output=no >"$log" 2>&1
  status=$?
  p=$(count passed "$log")
  f=$(count failed "$log")
  s=$(count skipped "$log")
  local aborted
  aborted=$(count aborted "$log")
  if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
    local at
    at=$(grep -oE 'Entering test case "[^"]+"' "$log" | tail -n1 | cut -d'"' -f2)
    echo "== $variant/$suite: HUNG: killed after ${suite_timeout}s in test case ${at:-?};" \
      "its $cases test cases count as failed (log: $log)"
    p=0 f=$cases s=0
    return
  fi
  if [ -z "$p$f" ]; then
    echo "== $variant/$suite: CRASHED, exit $status, no summary: its $cases test cases count as failed (log: $log)"
    grep -E "error|ERROR: .*Sanitizer|WARNING: ThreadSanitizer" "$log" | head -n 20
    grep -v "Entering test\|Leaving test\|is skipped because" "$log" | tail -n 10
    p=0 f=$cases s=0
    return
  fi
  p=${p:-0}
  f=$(( ${f:-0} + ${aborted:-0} ))
  # Boost.Test counts the other suites' cases as skipped too.
  s=$(( ${s:-0} - (total - cases) ))
  [ "$s" -ge 0 ] || s=0
  if [ "$status" -ne 0 ] && [ "$f" -eq 0 ]; then
    f=1  # e.g. a sanitizer report at exit, after the summary
    echo "== $variant/$suite: exit $status after a clean summary (log: $log)"
    grep -E "ERROR: .*Sanitizer|WARNING: ThreadSanitizer|runtime error|Leak" "$log" | head -n 10
  fi
  if [ "$f" -ne 0 ]; then
    echo "== $variant/$suite: $p passed, $f failed (log: $log)"
    grep -E 'error: in "|fatal error: in "' "$log" | head -n 20
  fi
}

# run_variant NAME B2_VARIANT TOOLSET [SKIP]: builds the tests with TOOLSET
# (gcc, clang) and runs every suite of the binary except those in the comma
# list SKIP.
run_variant() {
  local name=$1 variant=$2 toolset=$3 skip=",${4:-},"
  local binary=bin/tests/$variant/pyk-tests
  echo "== $name: building (variant=$variant toolset=$toolset)"
  if ! timed "$name build" b2 -j"$jobs" -q toolset="$toolset" variant="$variant" pyk-tests install-tests \
    >"$log_dir/$name.build.log" 2>&1; then
    tail -n 40 "$log_dir/$name.build.log"
    echo "== $name: BUILD FAILED (log: $log_dir/$name.build.log)"
    failed=$((failed + 1))
    summary+=("$name: BUILD FAILED, counted as 1 failed, no test case ran")
    return
  fi
  local listing total=0 suite cases vp=0 vf=0 vs=0 ran=0 left_out=0
  listing=$(suites "$binary")
  while read -r suite cases; do total=$((total + cases)); done <<<"$listing"
  while read -r suite cases; do
    if [[ $skip == *",$suite,"* ]]; then
      left_out=$((left_out + cases))
      continue
    fi
    run_suite "$name" "$binary" "$suite" "$cases" "$total"
    vp=$((vp + p)) vf=$((vf + f)) vs=$((vs + s)) ran=$((ran + 1))
  done <<<"$listing"
  local note=""
  [ "$left_out" -eq 0 ] || note=" (+$left_out in suites not run under $name: ${4})"
  echo "== $name: $ran suites, $vp test cases passed, $vf failed, $vs skipped$note"
  tally "$name" "$vp" "$vf" "$((vs + left_out))" "test cases"
}

run_variant release release gcc
if [ -z "${PYK_QUICK:-}" ]; then
  # AddressSanitizer + UBSan builds with clang: g++ 12 takes twice as long to
  # compile the tests with them at -O0 (and two compilers see the code).
  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 run_variant sanitize sanitize clang
  # ThreadSanitizer runs 100 random crash rounds per backend, not the release
  # build's 600 (memory) and 150 (file, mmap): their races are in the same
  # open/close paths every round takes, and the full count took 100 s here.
  tsan_skip=$(sed -n 's/^tsan-skip = \(.*\) ;$/\1/p' Jamfile)
  PYK_CRASH_ROUNDS=${PYK_CRASH_ROUNDS:-100} TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" \
    run_variant tsan tsan gcc "$tsan_skip"
fi

# run_script NAME WHAT SCRIPT: a script that ends with its own line
# "N passed, N failed[, N skipped]" (WHAT it counts: checks, ...).
run_script() {
  local name=$1 what=$2 script=$3 log="$log_dir/$1.log" status p f s last
  echo "== $name: $script"
  timed "$name" timeout --kill-after=30 "$suite_timeout" "$script" >"$log" 2>&1
  status=$?
  last=$(tail -n 1 "$log")
  p=$(grep -oE '^[0-9]+ passed' <<<"$last" | cut -d' ' -f1)
  f=$(grep -oE '[0-9]+ failed' <<<"$last" | cut -d' ' -f1)
  s=$(grep -oE '[0-9]+ skipped' <<<"$last" | cut -d' ' -f1)
  if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
    echo "== $name: HUNG: killed after ${suite_timeout}s: counted as 1 failed (log: $log)"
    p=0 f=1
  elif [ -z "$p" ] || [ -z "$f" ]; then
    echo "== $name: no summary line (exit $status): counted as 1 failed (log: $log)"
    p=0 f=1
  fi
  if [ "$status" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
  [ "$f" -eq 0 ] || tail -n 30 "$log"
  echo "== $name: $p $what passed, $f failed, ${s:-0} skipped"
  tally "$name" "$p" "$f" "${s:-0}" "$what"
}
echo "== programs: building (variant=release)"
if timed "programs build" b2 -j"$jobs" -q stage >"$log_dir/programs.build.log" 2>&1; then
  PYK_BIN_DIR=bin/release run_script tools-e2e checks tests/tools_e2e.sh
  PYK_BIN_DIR=bin/release run_script server-e2e checks tests/server_e2e.sh
else
  tail -n 40 "$log_dir/programs.build.log"
  echo "== programs: BUILD FAILED"
  tally programs 0 1 0 "builds"
fi
run_script install checks tests/install_test.sh

if [ -z "${PYK_QUICK:-}" ]; then
  echo "== fuzz: tests/fuzz/run.sh (${PYK_FUZZ_RUNS:-10000} inputs per target, half that for open and fsck)"
  timed fuzz timeout --kill-after=30 $((suite_timeout * 3)) tests/fuzz/run.sh >"$log_dir/fuzz.log" 2>&1
  fuzz_status=$?
  p=$(grep -c '_fuzz: ok' "$log_dir/fuzz.log")
  f=$(grep -c '_fuzz: CRASHED' "$log_dir/fuzz.log")
  if [ "$fuzz_status" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
  [ "$f" -eq 0 ] || tail -n 40 "$log_dir/fuzz.log"
  echo "== fuzz: $p targets passed, $f failed"
  tally fuzz "$p" "$f" 0 "fuzz targets"
fi

echo "== summary"
printf '   %s\n' "${summary[@]}"
echo "== time: $((SECONDS - started)) s in all; the slowest phases (seconds):"
printf '%s\n' "${timings[@]}" | sort -rn | head -n 15 | sed 's/^/   /'
printf '%s\n' "${timings[@]}" >"$log_dir/timings"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
