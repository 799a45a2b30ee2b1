#!/usr/bin/env bash
# Installs pyk into a temporary prefix and moves it (the pkg-config and CMake
# files must find everything relative to themselves), checks that exactly the
# Jamfile's public headers were installed, each compiling on its own without
# reaching a Boost header, then builds README.md's embedding example against
# the installed copy three ways — plain flags, pkg-config, CMake — all with
# -Wall -Wextra -Wpedantic -Werror, and runs each program, so the README cannot
# rot. Prints "N passed, N failed".
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
warnings=(-Wall -Wextra -Wpedantic -Werror)
prefix=$work/prefix

check install b2 -q -j"$(nproc)" install --prefix="$work/installed"
mv "$work/installed" "$prefix"

# --- the installed headers ---------------------------------------------------
# same_lines A B: the two newline-separated lists are equal (shows the diff).
same_lines() { diff <(printf '%s\n' "$1") <(printf '%s\n' "$2"); }
public_headers=$(awk '/^public-headers =/{s=1; next} s && /;/{exit} s{print $1}' Jamfile \
  | xargs -n1 basename | sort)
check public-headers-listed test -n "$public_headers"
check only-public-headers-installed same_lines "$public_headers" "$(ls "$prefix/include/pyk" | sort)"

# header_alone NAME: #include <pyk/NAME> alone compiles warning-free, and
# nothing it pulls in is a Boost header.
header_alone() {
  printf '#include <pyk/%s>\n' "$1" >"$work/alone.cpp"
  g++ -std=c++20 "${warnings[@]}" -I"$prefix/include" -c "$work/alone.cpp" -o /dev/null \
    -MD -MF "$work/alone.d" || return 1
  if grep boost "$work/alone.d"; then
    echo "<pyk/$1> reaches a Boost header"
    return 1
  fi
}
for header in $public_headers; do
  check "header-$header" header_alone "$header"
done

# --- README's example, three ways ----------------------------------------------
# readme_block LANG: the first ```LANG block after the line "## Embedding pyk".
readme_block() {
  awk -v fence="\`\`\`$1" '/^## Embedding pyk/{s=1} s && $0 == fence {c=1; next} c && /^```/{exit} c{print}' README.md
}
mkdir -p "$work/flags" "$work/pkg-config" "$work/cmake"
readme_block cpp >"$work/example.cpp"
cp "$work/example.cpp" "$work/cmake/"
readme_block cmake >"$work/cmake/CMakeLists.txt"
check example-extracted test -s "$work/example.cpp"
check cmake-lists-extracted test -s "$work/cmake/CMakeLists.txt"

# run_example DIR: runs DIR/example inside DIR (it creates its store there).
run_example() { (cd "$1" && ./example); }

check flags-build g++ -std=c++20 "${warnings[@]}" -I"$prefix/include" "$work/example.cpp" \
  -L"$prefix/lib" -lpyk -pthread -o "$work/flags/example"
check flags-runs run_example "$work/flags"

build_with_pkg_config() {
  local flags
  flags=$(PKG_CONFIG_PATH="$prefix/lib/pkgconfig" pkg-config --cflags --libs pyk) || return 1
  echo "pkg-config --cflags --libs pyk: $flags"
  # $flags is split into words on purpose, as $(pkg-config ...) is in a shell command.
  g++ -std=c++20 "${warnings[@]}" "$work/example.cpp" $flags -o "$work/pkg-config/example"
}
check pkg-config-build build_with_pkg_config
check pkg-config-runs run_example "$work/pkg-config"
version=$(awk '/^version = /{print $3}' Jamfile)
check pkg-config-version same_lines "$version" \
  "$(PKG_CONFIG_PATH="$prefix/lib/pkgconfig" pkg-config --modversion pyk)"

# cmake_configure DIR: configures the project in DIR against the installed copy.
cmake_configure() {
  cmake -S "$1" -B "$1/build" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_CXX_FLAGS="${warnings[*]}" \
    -DCMAKE_VERBOSE_MAKEFILE=ON
}
cmake_build() { cmake_configure "$1" && cmake --build "$1/build"; }
check cmake-build cmake_build "$work/cmake"
check cmake-runs run_example "$work/cmake/build"

# A request for a version this is not must fail (pykConfigVersion.cmake).
mkdir -p "$work/cmake-other-version"
sed -e 's/find_package(pyk [0-9.]*/find_package(pyk 99.0/' "$work/cmake/CMakeLists.txt" \
  >"$work/cmake-other-version/CMakeLists.txt"
check cmake-other-version-written grep -q 'pyk 99.0' "$work/cmake-other-version/CMakeLists.txt"
fails() { ! "$@"; }
check cmake-rejects-other-version fails cmake_configure "$work/cmake-other-version"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
