#!/usr/bin/env bash
# Builds and runs every test: `b2 test` (the Boost.Test suites) in the release
# build, again under AddressSanitizer + UndefinedBehaviorSanitizer, and the
# threaded suites under ThreadSanitizer; then the tools end-to-end test, the
# install test and the fuzz targets. Reports each run and ends with one line
# "N passed, N failed" (test cases); logs are in bin/test-logs/.
#   tests/run.sh            everything
#   PYK_QUICK=1 tests/run.sh   release build only
set -u
cd "$(dirname "$0")/.."
jobs=${PYK_JOBS:-$(nproc)}
log_dir=bin/test-logs
mkdir -p "$log_dir"
passed=0
failed=0

# report_run LABEL OUTPUT: counts one b2 test run from its captured output
# (Boost.Test's summary, then b2's "EXIT STATUS: N" line) and shows what failed.
report_run() {
  local label=$1 output=$2 p f status
  grep -E "error|fatal|failed|passed with|Leak|runtime error|WARNING: ThreadSanitizer" "$output" \
    | grep -v "Entering test\|Leaving test" | tail -n 40
  p=$(grep -oE '[0-9]+ test cases? out of [0-9]+ passed' "$output" | head -n1 | cut -d' ' -f1)
  f=$(grep -oE '[0-9]+ test cases? out of [0-9]+ failed' "$output" | head -n1 | cut -d' ' -f1)
  status=$(sed -n 's/^EXIT STATUS: \([0-9]*\)$/\1/p' "$output" | tail -n1)
  if [ -z "$p$f" ]; then
    echo "== $label: no summary (exit ${status:-unknown}): counted as one failure; log: $output"
    tail -n 20 "$output"
    failed=$((failed + 1))
    return
  fi
  p=${p:-0}
  f=${f:-0}
  if [ "${status:-1}" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi  # e.g. a sanitizer abort after the summary
  if [ "$f" -eq 0 ]; then
    echo "== $label: $p passed, $f failed"
  else
    echo "== $label: $p passed, $f failed (log: $output)"
  fi
  passed=$((passed + p))
  failed=$((failed + f))
}

# run_variant NAME B2_VARIANT: builds the tests, runs them with `b2 test` (the
# Jamfile's run targets, each captured in a *.output file) and reports each run.
run_variant() {
  local name=$1 variant=$2
  echo "== $name: building (variant=$variant)"
  if ! b2 -j"$jobs" -q variant="$variant" pyk-tests install-tests >"$log_dir/$name.build.log" 2>&1; then
    tail -n 40 "$log_dir/$name.build.log"
    echo "== $name: BUILD FAILED (log: $log_dir/$name.build.log)"
    failed=$((failed + 1))
    return
  fi
  echo "== $name: b2 variant=$variant test"
  local started="$log_dir/$name.started" failed_before=$failed
  touch "$started"
  b2 -j"$jobs" variant="$variant" test >"$log_dir/$name.log" 2>&1
  local status=$? output runs=0
  for output in $(find bin -name '*.output' -path "*/$variant/*" -newer "$started" | sort); do
    local run
    run=$(basename "$output" .output)
    cp "$output" "$log_dir/$name.$run.log"
    report_run "$name/$run" "$log_dir/$name.$run.log"
    runs=$((runs + 1))
  done
  if [ "$runs" -eq 0 ] || { [ "$status" -ne 0 ] && [ "$failed" -eq "$failed_before" ]; }; then
    # No test ran, or b2 failed while no run's output says so.
    tail -n 40 "$log_dir/$name.log"
    echo "== $name: b2 test exit $status after $runs runs: counted as one failure; log: $log_dir/$name.log"
    failed=$((failed + 1))
  fi
}

run_variant release release
if [ -z "${PYK_QUICK:-}" ]; then
  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 run_variant sanitize sanitize
  # The Jamfile runs only the tsan-suites target under variant=tsan.
  TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" run_variant tsan tsan
fi
# run_script NAME SCRIPT: a script that ends with its own "N passed, N failed" line.
run_script() {
  echo "== $1: $2"
  "$2" >"$log_dir/$1.log" 2>&1
  local status=$? p f
  p=$(tail -n 1 "$log_dir/$1.log" | grep -oE '^[0-9]+ passed' | cut -d' ' -f1)
  f=$(tail -n 1 "$log_dir/$1.log" | grep -oE '[0-9]+ failed$' | cut -d' ' -f1)
  if [ -z "$p" ] || [ -z "$f" ]; then
    p=0
    f=1
    tail -n 20 "$log_dir/$1.log"
  fi
  if [ "$status" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
  [ "$f" -eq 0 ] || tail -n 30 "$log_dir/$1.log"
  echo "== $1: $p passed, $f failed"
  passed=$((passed + p))
  failed=$((failed + f))
}
echo "== programs: building (variant=release)"
if b2 -j"$jobs" -q stage >"$log_dir/programs.build.log" 2>&1; then
  PYK_BIN_DIR=bin/release run_script tools-e2e tests/tools_e2e.sh
  PYK_BIN_DIR=bin/release run_script server-e2e tests/server_e2e.sh
else
  tail -n 40 "$log_dir/programs.build.log"
  echo "== programs: BUILD FAILED"
  failed=$((failed + 1))
fi
run_script install tests/install_test.sh

if [ -z "${PYK_QUICK:-}" ]; then
  # Each libFuzzer target (datafile reader, Store::open, hint files) counts as one test.
  echo "== fuzz: tests/fuzz/run.sh (${PYK_FUZZ_RUNS:-20000} inputs per target)"
  tests/fuzz/run.sh >"$log_dir/fuzz.log" 2>&1
  fuzz_status=$?
  p=$(grep -c '_fuzz: ok' "$log_dir/fuzz.log")
  f=$(grep -c '_fuzz: CRASHED' "$log_dir/fuzz.log")
  if [ "$fuzz_status" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
  [ "$f" -eq 0 ] || tail -n 40 "$log_dir/fuzz.log"
  echo "== fuzz: $p passed, $f failed"
  passed=$((passed + p))
  failed=$((failed + f))
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
