#!/usr/bin/env bash
# pyk-server against redis-server (AOF) on this machine, in one run:
#   1. redis-benchmark -t set,get -d 100 -c 50 -P 16 at two durability levels:
#      appendfsync everysec vs --sync interval, appendfsync always vs --sync always
#      (plus fsyncs per write for pyk-server under --sync always);
#   2. peak RSS after 200,000 SETs of 4 KiB values (800 MB of data).
# Prints a Markdown table. Run it on an idle machine: the numbers are only
# worth anything if nothing else competes for the cores and the disk.
#   tools/server/bench.sh                     full run (a few minutes)
#   BENCH_REQUESTS=20000 BENCH_RSS_KEYS=2000 tools/server/bench.sh   a quick check
#   BENCH_BACKEND=mmap tools/server/bench.sh   pyk-server on the mmap backend
# The stores go to $BENCH_DIR (default bin/bench-server, on the repository's
# disk: /tmp is often tmpfs, where an fsync costs nothing).
set -u
cd "$(dirname "$0")/../.."
server_bin=${PYK_BIN_DIR:-bin/release}/pyk-server
requests=${BENCH_REQUESTS:-1000000}
backend=${BENCH_BACKEND:-file}  # pyk-server's storage backend
rss_keys=${BENCH_RSS_KEYS:-200000}
base=${BENCH_DIR:-bin/bench-server}
for tool in redis-server redis-benchmark redis-cli; do
  command -v $tool >/dev/null || { echo "bench: $tool missing (tools/install-deps.sh)"; exit 2; }
done
[ -x "$server_bin" ] || { echo "bench: $server_bin not built (b2 -j2 stage)"; exit 2; }
rm -rf "$base"
mkdir -p "$base"
port=$((30000 + RANDOM % 20000))
pid=""
trap '[ -n "$pid" ] && kill -9 $pid 2>/dev/null; rm -rf "$base"' EXIT

wait_ready() { for _ in $(seq 100); do redis-cli -p "$port" ping >/dev/null 2>&1 && return 0; sleep 0.1; done; echo "bench: server on $port did not start"; exit 2; }
stop() { kill -TERM "$pid" 2>/dev/null; timeout 60 tail --pid="$pid" -f /dev/null; pid=""; rm -rf "$base/data"; }
start_redis() { # start_redis APPENDFSYNC
  mkdir -p "$base/data"
  redis-server --port "$port" --bind 127.0.0.1 --dir "$base/data" --appendonly yes \
    --appendfsync "$1" --save "" --protected-mode no --daemonize no >"$base/redis.log" 2>&1 &
  pid=$!
  wait_ready
}
start_pyk() { # start_pyk SYNC
  mkdir -p "$base/data"
  "$server_bin" --dir "$base/data" --port "$port" --sync "$1" --backend "$backend" >"$base/pyk.log" 2>&1 &
  pid=$!
  wait_ready
}
# rps TEST: requests/s of TEST (SET or GET) in the last benchmark output
rps() { tr '\r' '\n' <"$base/bench.out" | grep -oE "^$1: [0-9.]+" | tail -n1 | cut -d' ' -f2; }
bench() {
  timeout 600 redis-benchmark -p "$port" -t set,get -d 100 -c 50 -P 16 -n "$requests" -r 100000 -q \
    >"$base/bench.out" 2>&1
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2fx", a / b; else print "?" }'; }

rows=""
for level in "everysec interval" "always always"; do
  set -- $level
  start_redis "$1"; bench; r_set=$(rps SET); r_get=$(rps GET); stop
  start_pyk "$2"; bench; p_set=$(rps SET); p_get=$(rps GET)
  syncs=$(redis-cli -p "$port" info persistence | grep -oE '^group_commit_syncs:[0-9]+' | cut -d: -f2)
  writes=$(redis-cli -p "$port" info stats | grep -oE '^total_write_commands_processed:[0-9]+' | cut -d: -f2)
  stop
  note=""
  [ "$2" = always ] && note=" ($syncs fsyncs for $writes SETs)"
  rows+="| appendfsync $1 / --sync $2 | SET | $r_set | $p_set | $(ratio "$p_set" "$r_set")$note |"$'\n'
  rows+="| appendfsync $1 / --sync $2 | GET | $r_get | $p_get | $(ratio "$p_get" "$r_get") |"$'\n'
done

# Peak RSS after rss_keys SETs of 4 KiB values, written through one pipe.
load() {
  awk -v n="$rss_keys" 'BEGIN {
    v = sprintf("%4096s", ""); gsub(/ /, "x", v)
    for (i = 0; i < n; i++) { k = "key:" i; printf "*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$4096\r\n%s\r\n", length(k), k, v }
  }' | timeout 900 redis-cli -p "$port" --pipe >/dev/null
}
peak_mib() { awk '/^VmHWM:/ { printf "%.0f", $2 / 1024 }' "/proc/$pid/status"; }
start_redis everysec; load; r_rss=$(peak_mib); stop
start_pyk interval; load; p_rss=$(peak_mib); p_keys=$(redis-cli -p "$port" dbsize); stop

echo "redis-benchmark -t set,get -d 100 -c 50 -P 16 -n $requests -r 100000 ($(nproc) cores, $(redis-server --version | grep -oE 'v=[0-9.]+'))"
echo
echo "| durability | test | redis-server req/s | pyk-server req/s | pyk / redis |"
echo "|---|---|---|---|---|"
printf "%s" "$rows"
echo
echo "Peak RSS after $rss_keys SETs of 4 KiB values: redis-server ${r_rss} MiB, pyk-server ${p_rss} MiB ($p_keys keys)"
