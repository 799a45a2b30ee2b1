#!/usr/bin/env bash
# Installs pyk's build dependencies from Debian's packages (needs root).
set -eu
# clang and libclang-rt-14-dev: the AddressSanitizer + UBSan test build, the
# libFuzzer targets and their sanitizers;
# cmake and pkg-config: tests/install_test.sh builds against an installed copy with them.
packages="g++ libboost1.81-dev libboost1.81-tools-dev libboost-filesystem1.81-dev
  libboost-program-options1.81-dev libboost-test1.81-dev clang libclang-rt-14-dev
  cmake pkg-config"
# pyk-server's end-to-end tests and benchmark: redis-cli, redis-benchmark,
# redis-server (the comparison) and nutcracker (twemproxy, the ring test).
packages="$packages redis-tools redis-server nutcracker"
missing=""
for p in $packages; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  echo "installing:$missing"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq $missing >/dev/null
fi
