#!/usr/bin/env bash
# Installs pyk into a temporary prefix, then compiles and runs README.md's
# embedding example against the installed headers and library, so the README
# cannot rot. Prints "N passed, N failed".
set -u
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
passed=0
failed=0
check() {  # check NAME COMMAND...
  if "${@:2}" >"$work/$1.log" 2>&1; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    echo "FAILED: $1"
    tail -n 30 "$work/$1.log"
  fi
}
check install b2 -q -j"$(nproc)" install --prefix="$work/prefix"
# The example is the first ```cpp block after the line "## Embedding pyk".
awk '/^## Embedding pyk/{s=1} s&&/^```cpp/{c=1;next} c&&/^```/{exit} c{print}' README.md >"$work/example.cpp"
check example-extracted test -s "$work/example.cpp"
check example-compiles g++ -std=c++20 -I"$work/prefix/include/pyk" "$work/example.cpp" \
  -L"$work/prefix/lib" -lpyk -lpthread -o "$work/example"
check example-runs bash -c "cd '$work' && ./example"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
