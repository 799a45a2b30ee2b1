#!/usr/bin/env bash
# Builds and runs every test: the release build, then the same suite under
# AddressSanitizer + UndefinedBehaviorSanitizer, then the concurrency tests
# under ThreadSanitizer. Ends with one line "N passed, N failed" (test cases).
#   tests/run.sh            everything
#   PYK_QUICK=1 tests/run.sh   release build only
set -u
cd "$(dirname "$0")/.."
jobs=${PYK_JOBS:-$(nproc)}
log_dir=bin/test-logs
mkdir -p "$log_dir"
passed=0
failed=0

# run_suite NAME B2_VARIANT [boost test arguments...]
run_suite() {
  local name=$1 variant=$2
  shift 2
  echo "== $name: building (variant=$variant)"
  if ! b2 -j"$jobs" -q variant="$variant" pyk-tests install-tests >"$log_dir/$name.build.log" 2>&1; then
    tail -n 40 "$log_dir/$name.build.log"
    echo "== $name: BUILD FAILED (log: $log_dir/$name.build.log)"
    failed=$((failed + 1))
    return
  fi
  local binary="bin/tests/$variant/pyk-tests"
  echo "== $name: running $binary $*"
  "$binary" --report_level=short --log_level=test_suite --color_output=no "$@" >"$log_dir/$name.log" 2>&1
  local status=$?
  grep -E "error|fatal|failed|passed with|Leak|runtime error|WARNING: ThreadSanitizer" "$log_dir/$name.log" \
    | grep -v "Entering test\|Leaving test" | tail -n 40
  local p f
  p=$(grep -oE '[0-9]+ test cases? out of [0-9]+ passed' "$log_dir/$name.log" | head -n1 | cut -d' ' -f1)
  f=$(grep -oE '[0-9]+ test cases? out of [0-9]+ failed' "$log_dir/$name.log" | head -n1 | cut -d' ' -f1)
  if [ -z "$p$f" ]; then
    echo "== $name: no summary (exit $status): counted as one failure; log: $log_dir/$name.log"
    tail -n 20 "$log_dir/$name.log"
    failed=$((failed + 1))
    return
  fi
  p=${p:-0}
  f=${f:-0}
  if [ "$status" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi  # e.g. a sanitizer abort after the summary
  echo "== $name: $p passed, $f failed"
  passed=$((passed + p))
  failed=$((failed + f))
}

run_suite release release
if [ -z "${PYK_QUICK:-}" ]; then
  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 run_suite sanitize sanitize
  TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" run_suite tsan tsan --run_test=concurrency,segment_conformance,merge,hint_files
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
