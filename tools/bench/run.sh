#!/usr/bin/env bash
# The README's bench command: installs the peer engines from Debian's packages,
# builds pyk-bench with them (b2 peers=on) and runs every engine and workload.
# Markdown goes to stdout, JSON to $PYK_BENCH_JSON (default bench-results.json).
#   tools/bench/run.sh                          1M keys, 100-byte values
#   tools/bench/run.sh --value-size 100,4096    extra arguments go to pyk-bench
set -euo pipefail
cd "$(dirname "$0")/../.."
peers="libleveldb-dev librocksdb-dev liblmdb-dev libtkrzw-dev libkyotocabinet-dev"
missing=$(dpkg-query -W -f='${Status} ${Package}\n' $peers 2>/dev/null | grep -vc "^install ok installed" || true)
if ! dpkg-query -W $peers >/dev/null 2>&1 || [ "$missing" -ne 0 ]; then
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo=sudo
  $sudo apt-get update >&2
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y $peers >&2
fi
b2 -j"$(nproc)" -q peers=on stage-bench >&2
exec bin/release/pyk-bench --json "${PYK_BENCH_JSON:-bench-results.json}" "$@"
