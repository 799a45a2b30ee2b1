#!/usr/bin/env bash
# Builds the libFuzzer targets with clang++ (-fsanitize=fuzzer,address,undefined)
# and runs each for a fixed number of inputs over its seed corpus.
# Needs clang++ 14 and, on Debian, libclang-rt-14-dev (the libFuzzer runtime).
#   tests/fuzz/run.sh                 build, then PYK_FUZZ_RUNS (20000) inputs per target
#   tests/fuzz/run.sh --make-corpus   regenerate tests/fuzz/corpus/ first
# Ends with "fuzz: PASS" (exit 0) or "fuzz: FAIL" (exit 1); crash inputs and
# logs are left in bin/fuzz/.
set -u
cd "$(dirname "$0")/../.."
cxx=${PYK_FUZZ_CXX:-clang++}
runs=${PYK_FUZZ_RUNS:-20000}
out=bin/fuzz
mkdir -p "$out/obj"
common=(-std=c++20 -O1 -g -I. -fno-sanitize-recover=all -fsanitize=address,undefined -pthread)
targets=(record_reader open hint)

fail() { echo "fuzz: FAIL ($*)"; exit 1; }

# The engine and backends, built once per change with fuzzer coverage instrumentation.
objects=()
for src in core/*.cpp backends/*.cpp; do
  obj="$out/obj/$(echo "$src" | tr / _).o"
  if [ ! -f "$obj" ] || [ "$src" -nt "$obj" ] || [ -n "$(find core backends -name '*.h' -newer "$obj" | head -n1)" ]; then
    echo "== compiling $src"
    "$cxx" "${common[@]}" -fsanitize=fuzzer-no-link -c "$src" -o "$obj" || fail "compiling $src"
  fi
  objects+=("$obj")
done

if [ "${1:-}" = "--make-corpus" ]; then
  "$cxx" "${common[@]}" tests/fuzz/make_corpus.cpp "${objects[@]}" -o "$out/make_corpus" \
    || fail "building make_corpus"
  rm -rf tests/fuzz/corpus
  "$out/make_corpus" tests/fuzz/corpus || fail "make_corpus"
fi

status=0
for t in "${targets[@]}"; do
  echo "== building ${t}_fuzz"
  "$cxx" "${common[@]}" -fsanitize=fuzzer "tests/fuzz/${t}_fuzz.cpp" "${objects[@]}" \
    -o "$out/${t}_fuzz" || fail "building ${t}_fuzz"
  # Work on a copy: libFuzzer adds new inputs to its first corpus directory.
  rm -rf "$out/corpus-$t" && mkdir -p "$out/corpus-$t"
  cp tests/fuzz/corpus/"$t"/* "$out/corpus-$t"/ 2>/dev/null
  echo "== running ${t}_fuzz for $runs inputs"
  if "$out/${t}_fuzz" -runs="$runs" -seed=1 -max_len=8192 -artifact_prefix="$out/${t}-" \
      "$out/corpus-$t" >"$out/$t.log" 2>&1; then
    echo "== ${t}_fuzz: ok ($(grep -oE 'Done [0-9]+ runs in [0-9]+ second' "$out/$t.log" | tail -n1)s)"
  else
    tail -n 30 "$out/$t.log"
    echo "== ${t}_fuzz: CRASHED (log: $out/$t.log, input: $out/${t}-*)"
    status=1
  fi
done
if [ "$status" -eq 0 ]; then echo "fuzz: PASS"; else echo "fuzz: FAIL"; fi
exit "$status"
