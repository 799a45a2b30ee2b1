#!/usr/bin/env bash
# End-to-end tests of pyk-server with the real Redis tools: redis-cli for
# every command, pipelining, binary data; raw sockets for protocol abuse;
# kill -9 durability under --sync always; clean shutdown; 1,000 clients
# (redis-benchmark); and three nodes behind twemproxy (nutcracker).
# Loopback only, every step bounded in time. Ends with "N passed, N failed".
#   PYK_BIN_DIR=bin/release tests/server_e2e.sh
set -u
bin=${PYK_BIN_DIR:-bin/release}
server_bin=$bin/pyk-server
[ -x "$server_bin" ] || { echo "server_e2e: $server_bin not built (b2 stage); 0 passed, 1 failed"; exit 1; }
for tool in redis-cli redis-benchmark nutcracker; do
  command -v $tool >/dev/null || { echo "server_e2e: $tool missing (tools/install-deps.sh); 0 passed, 1 failed"; exit 1; }
done
passed=0 failed=0
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
  rm -rf "$work"
}
trap cleanup EXIT
ok() { passed=$((passed + 1)); }
bad() { failed=$((failed + 1)); echo "FAIL: $*"; }
# same NAME GOT WANT
same() { if [ "$2" = "$3" ]; then ok; else bad "$1: got '$2', want '$3'"; fi; }
cli() { timeout 20 redis-cli -p "$port" "$@"; }

# start_server DIR [flags...]: starts pyk-server on a free port; sets $port and $pid.
start_server() {
  local dir=$1; shift
  local log=$work/server.$RANDOM.log
  "$server_bin" --dir "$dir" --port 0 "$@" >"$log" 2>&1 &
  pid=$!
  pids+=("$pid")
  port=""
  for _ in $(seq 100); do
    port=$(grep -oE 'listening on 127\.0\.0\.1:[0-9]+' "$log" 2>/dev/null | grep -oE '[0-9]+$')
    [ -n "$port" ] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
  done
  server_log=$log
  [ -n "$port" ] || { bad "server did not start: $(head -3 "$log")"; return 1; }
}
raw() { # raw BYTES: sends them on a fresh connection, prints what comes back (2 s at most)
  timeout 3 bash -c 'exec 3<>/dev/tcp/127.0.0.1/'"$port"'; printf "$1" >&3; timeout 2 cat <&3' _ "$1" 2>/dev/null
}
stop_server() { kill -TERM "$pid" 2>/dev/null; timeout 20 tail --pid="$pid" -f /dev/null; wait "$pid" 2>/dev/null; }

# --- the program's flags ---
"$server_bin" --help >"$work/out" 2>&1 && grep -q -- "--sync" "$work/out" && ok || bad "--help"
"$server_bin" --version | grep -q "pyk" && ok || bad "--version"
"$server_bin" --bogus >/dev/null 2>&1; same "bad flag exit" $? 2
"$server_bin" --sync sometimes >/dev/null 2>&1; same "bad --sync exit" $? 2

# --- every command through redis-cli ---
start_server "$work/cmds" --sync always || exit 1
same PING "$(cli ping)" PONG
same ECHO "$(cli echo hello)" hello
same SELECT "$(cli select 0)" OK
same "SELECT 1" "$(cli select 1)" "ERR DB index is out of range"
same SET "$(cli set k v)" OK
same GET "$(cli get k)" v
same "GET missing" "$(cli get nope)" ""
same "SET NX" "$(cli set k w nx)" ""
same "SET XX GET" "$(cli set k w xx get)" v
same "SET EX" "$(cli set e v ex 100)" OK
same TTL "$(cli ttl e)" 100
same "SET KEEPTTL" "$(cli set e v2 keepttl)" OK
same "TTL kept" "$(cli ttl e)" 100
same "SET PX" "$(cli set p v px 100000)" OK
pttl=$(cli pttl p); [ "$pttl" -gt 99000 ] && [ "$pttl" -le 100000 ] && ok || bad "PTTL $pttl"
same "SET EXAT" "$(cli set a v exat $(( $(date +%s) + 1000 )))" OK
ttl=$(cli ttl a); [ "$ttl" -ge 998 ] && [ "$ttl" -le 1000 ] && ok || bad "EXAT ttl $ttl"
same "SET PXAT past" "$(cli set a v pxat 1000)" OK
same "PXAT past gone" "$(cli exists a)" 0
same SETNX "$(cli setnx n 1)" 1
same "SETNX again" "$(cli setnx n 2)" 0
same SETEX "$(cli setex se 50 v)" OK
same "SETEX ttl" "$(cli ttl se)" 50
same PSETEX "$(cli psetex ps 50000 v)" OK
same "PSETEX ttl" "$(cli ttl ps)" 50
same GETDEL "$(cli getdel n)" 1
same "GETDEL again" "$(cli getdel n)" ""
same MSET "$(cli mset m1 a m2 b)" OK
same MGET "$(cli mget m1 nope m2 | tr '\n' ,)" "a,,b,"
same EXISTS "$(cli exists m1 m2 nope m1)" 3
same DEL "$(cli del m1 nope)" 1
same UNLINK "$(cli unlink m2)" 1
same INCR "$(cli incr c)" 1
same INCRBY "$(cli incrby c 10)" 11
same DECR "$(cli decr c)" 10
same DECRBY "$(cli decrby c 3)" 7
same "INCR not integer" "$(cli incr k)" "ERR value is not an integer or out of range"
same STRLEN "$(cli strlen k)" 1
same EXPIRE "$(cli expire k 30)" 1
same "TTL after EXPIRE" "$(cli ttl k)" 30
same PEXPIRE "$(cli pexpire k 20000)" 1
same "TTL after PEXPIRE" "$(cli ttl k)" 20
same EXPIREAT "$(cli expireat k $(( $(date +%s) + 3000 )))" 1
same PERSIST "$(cli persist k)" 1
same "TTL after PERSIST" "$(cli ttl k)" -1
same "TTL missing" "$(cli ttl nope)" -2
same KEYS "$(cli keys '[ck]' | sort | tr '\n' ,)" "c,k,"
same DBSIZE "$(cli dbsize)" 6
scan_keys=$(cli --scan | sort | tr '\n' ,)
same "SCAN (redis-cli --scan)" "$scan_keys" "c,e,k,p,ps,se,"
same "SCAN MATCH" "$(cli --scan --pattern 'p*' | sort | tr '\n' ,)" "p,ps,"
cli info | grep -q "^connected_clients:" && ok || bad "INFO clients"
cli info keyspace | grep -q "^db0:keys=6" && ok || bad "INFO keyspace"
cli info pyk | grep -q "^keydir_bytes:" && ok || bad "INFO pyk"
same "CONFIG GET" "$(cli config get appendfsync | tr '\n' ,)" "appendfsync,always,"
cli command count | grep -qE '^[0-9]+$' && ok || bad "COMMAND COUNT"
same "unknown command" "$(cli flushall)" "ERR unknown command 'flushall', with args beginning with: "
same "wrong arity" "$(cli get)" "ERR wrong number of arguments for 'get' command"
same "SCAN COUNT" "$(cli scan 0 count 100 | sort | tr '\n' ,)" "0,c,e,k,p,ps,se,"

# --- binary data, pipelining ---
head -c 100000 /dev/urandom >"$work/blob"
cli -x set blob <"$work/blob" >/dev/null
cli --raw get blob | head -c 100000 >"$work/blob.out"
cmp -s "$work/blob" "$work/blob.out" && ok || bad "binary value round trip"
same "binary STRLEN" "$(cli strlen blob)" 100000
printf '*3\r\n$3\r\nSET\r\n$4\r\nk\0\r\n\r\n$1\r\nx\r\n' | timeout 5 redis-cli -p "$port" --pipe >/dev/null
same "binary key" "$(raw '*2\r\n$3\r\nGET\r\n$4\r\nk\0\r\n\r\nQUIT\r\n' | tr -d '\r' | tr '\n' ,)" '$1,x,+OK,'
for i in $(seq 5000); do printf 'SET pipe:%d %d\r\n' "$i" "$i"; done >"$work/pipe.txt"
printf 'INCR pipe:1\r\n' >>"$work/pipe.txt"
out=$(timeout 30 redis-cli -p "$port" --pipe <"$work/pipe.txt" 2>&1)
echo "$out" | grep -q "errors: 0, replies: 5001" && ok || bad "pipelined 5001 commands: $out"
same "pipelined result" "$(cli get pipe:1)" 2
same "pipelined last" "$(cli get pipe:5000)" 5000

# --- protocol abuse over raw sockets: the client gets an error or is cut off,
# the server lives on and serves the others ---
same QUIT "$(raw 'PING\r\nQUIT\r\nPING\r\n' | tr -d '\r' | tr '\n' ,)" "+PONG,+OK,"
same "negative bulk" "$(raw '*1\r\n$-5\r\n' | tr -d '\r')" "-ERR Protocol error: invalid bulk length"
same "oversized bulk" "$(raw '*1\r\n$999999999999\r\n' | tr -d '\r')" "-ERR Protocol error: invalid bulk length"
same "bad multibulk" "$(raw '*x\r\n' | tr -d '\r')" "-ERR Protocol error: invalid multibulk length"
same "no dollar" "$(raw '*1\r\n+PING\r\n' | tr -d '\r')" "-ERR Protocol error: expected '\$', got '+'"
raw "$(printf 'A%.0s' $(seq 70000))" | grep -q "too big inline request" && ok || bad "endless inline line"
head -c 65536 /dev/urandom >"$work/garbage"
timeout 5 bash -c 'exec 3<>/dev/tcp/127.0.0.1/'"$port"'; cat "$1" >&3; timeout 1 cat <&3 >/dev/null' _ "$work/garbage" 2>/dev/null
timeout 3 bash -c 'exec 3<>/dev/tcp/127.0.0.1/'"$port"'; printf "*2\r\n\$3\r\nSET\r\n\$100\r\nhalf" >&3' 2>/dev/null
same "alive after abuse" "$(cli ping)" PONG
# A client that pipelines GETs of a 1 MiB value and never reads: the server
# stops reading from it; others are served, memory stays bounded.
head -c 1048576 /dev/zero | tr '\0' x | cli -x set big >/dev/null
for i in $(seq 2000); do printf 'GET big\r\n'; done >"$work/gets.txt"
timeout 8 bash -c 'exec 3<>/dev/tcp/127.0.0.1/'"$port"'; cat "$1" >&3; sleep 6' _ "$work/gets.txt" 2>/dev/null &
hog=$!
sleep 1.5
same "served beside a non-reading client" "$(cli get pipe:5000)" 5000
rss=$(cli info memory | grep -oE '^used_memory_rss:[0-9]+' | cut -d: -f2)
[ "${rss:-0}" -gt 0 ] && [ "$rss" -lt $((300 << 20)) ] && ok || bad "RSS with a non-reading client: $rss"
kill "$hog" 2>/dev/null; wait "$hog" 2>/dev/null
stop_server

# --- 1,000 concurrent clients, and --max-clients ---
start_server "$work/many" --sync none || exit 1
ulimit -n 4096 2>/dev/null
timeout 60 redis-benchmark -p "$port" -c 1000 -I >/dev/null 2>&1 &  # idle mode: 1000 open connections
idle=$!
peak=0
for _ in $(seq 100); do
  n=$(cli info clients | grep -oE '^connected_clients:[0-9]+' | cut -d: -f2)
  [ "${n:-0}" -gt "$peak" ] && peak=$n
  [ "$peak" -ge 1001 ] && break
  sleep 0.1
done
[ "$peak" -ge 1001 ] && ok || bad "connected clients: $peak, want 1000 idle ones and redis-cli"
same "served beside 1000 idle clients" "$(cli ping)" PONG
kill "$idle" 2>/dev/null; wait "$idle" 2>/dev/null
timeout 60 redis-benchmark -p "$port" -c 1000 -n 20000 -t set,get -q >"$work/bench1000.txt" 2>&1
same "redis-benchmark -c 1000 exit" "$?" 0
grep -q "GET: .*requests per second" "$work/bench1000.txt" && ok || bad "1000 clients: $(tail -2 "$work/bench1000.txt")"
echo "1000 clients: peak connected_clients=$peak; $(tr '\r' '\n' <"$work/bench1000.txt" | grep 'per second' | tr '\n' ' ')"
stop_server
start_server "$work/few" --max-clients 3 || exit 1
exec 5<>/dev/tcp/127.0.0.1/$port 6<>/dev/tcp/127.0.0.1/$port 7<>/dev/tcp/127.0.0.1/$port
sleep 0.2
same "--max-clients refuses the next" "$(cli ping)" "ERR max number of clients reached"
exec 5>&- 6>&- 7>&-
sleep 0.2
same "--max-clients after they left" "$(cli ping)" PONG
stop_server

# --- a second server on the same store is refused ---
start_server "$work/locked" || exit 1
first=$pid
"$server_bin" --dir "$work/locked" --port 0 >/dev/null 2>&1; same "second server on a locked store" $? 4
pid=$first; stop_server

# --- clean shutdown: SIGTERM and SIGINT finish, close the store, exit 0 ---
for sig in TERM INT; do
  start_server "$work/clean-$sig" --sync none || exit 1
  timeout 30 redis-benchmark -p "$port" -c 20 -n 20000 -t set -r 1000 -q >/dev/null 2>&1 &
  bench=$!
  sleep 0.3
  kill -$sig "$pid"
  wait "$pid"; same "SIG$sig exit code" $? 0
  grep -q "store closed cleanly" "$server_log" && ok || bad "SIG$sig: $(tail -2 "$server_log")"
  wait "$bench" 2>/dev/null
  if [ -x "$bin/pyk-fsck" ]; then
    "$bin/pyk-fsck" "$work/clean-$sig" >"$work/fsck.out" 2>&1; same "fsck after SIG$sig" $? 0
  fi
done
start_server "$work/clean-TERM" --sync none || exit 1
keys=$(cli dbsize); [ "$keys" -gt 0 ] && ok || bad "keys after clean restart: $keys"
stop_server

# --- kill -9 under --sync always: every acknowledged write survives ---
start_server "$work/crash" --sync always || exit 1
crash_port=$port
writers=()
for w in 1 2 3 4; do
  (
    i=0
    while [ $i -lt 100000 ]; do
      i=$((i + 1))
      r=$(timeout 5 redis-cli -p "$crash_port" set "w$w:$i" "v$i" 2>/dev/null) || break
      [ "$r" = OK ] && echo "w$w:$i" >>"$work/acked.$w" || break
    done
  ) &
  writers+=($!)
done
sleep 2
kill -9 "$pid"
wait "$pid" "${writers[@]}" 2>/dev/null
cat "$work"/acked.* >"$work/acked" 2>/dev/null
acked=$(wc -l <"$work/acked")
start_server "$work/crash" --sync always || exit 1
missing=0
while read -r key; do
  echo "GET $key"
done <"$work/acked" | timeout 60 redis-cli -p "$port" >"$work/got"
awk -F: '{print "v" $2}' "$work/acked" >"$work/want"
cmp -s "$work/got" "$work/want" && ok || { missing=$(diff "$work/got" "$work/want" | grep -c '^>'); bad "kill -9: $missing of $acked acknowledged writes lost"; }
[ "$acked" -gt 20 ] && ok || bad "kill -9: only $acked writes acknowledged before the kill"
echo "kill -9 under --sync always: $acked acknowledged writes, all present after restart"
stop_server

# --- three nodes behind twemproxy (ketama) ---
ring_ports=()
ring_pids=()
for n in 1 2 3; do
  start_server "$work/node$n" --sync none || exit 1
  ring_ports+=("$port")
  ring_pids+=("$pid")
done
# Ports below the ephemeral range (32768 and up), where the sockets of the
# tests above may linger in TIME_WAIT; nutcracker's stats port sets no
# SO_REUSEADDR. A port taken anyway: try another pair.
start_proxy() {
proxy_port=$((20000 + RANDOM % 10000))
stats_port=$((proxy_port + 1))
cat >"$work/nutcracker.yml" <<EOF
pyk:
  listen: 127.0.0.1:$proxy_port
  hash: fnv1a_64
  distribution: ketama
  redis: true
  auto_eject_hosts: false
  timeout: 5000
  servers:
   - 127.0.0.1:${ring_ports[0]}:1 node1
   - 127.0.0.1:${ring_ports[1]}:1 node2
   - 127.0.0.1:${ring_ports[2]}:1 node3
EOF
nutcracker -c "$work/nutcracker.yml" -s "$stats_port" -a 127.0.0.1 -o "$work/nutcracker.log" &
proxy=$!
pids+=("$proxy")
for _ in $(seq 50); do timeout 1 redis-cli -p "$proxy_port" ping >/dev/null 2>&1 && return 0; sleep 0.1; done
kill "$proxy" 2>/dev/null
return 1
}
proxy_up=no
for _ in 1 2 3 4 5; do start_proxy && { proxy_up=yes; break; }; done
[ "$proxy_up" = yes ] && ok || { bad "nutcracker did not start"; tail -5 "$work/nutcracker.log"; }
ring_keys=3000
for i in $(seq $ring_keys); do echo "SET ring:$i value-$i"; done >"$work/ring.txt"
# (redis-cli --pipe ends with ECHO, which twemproxy does not forward: plain mode.)
timeout 120 redis-cli -p "$proxy_port" <"$work/ring.txt" >"$work/ring.set"
same "ring writes through nutcracker" "$(grep -c '^OK$' "$work/ring.set")" "$ring_keys"
for i in $(seq $ring_keys); do echo "GET ring:$i"; done | timeout 120 redis-cli -p "$proxy_port" >"$work/ring.got"
for i in $(seq $ring_keys); do echo "value-$i"; done >"$work/ring.want"
cmp -s "$work/ring.got" "$work/ring.want" && ok || bad "ring read-back through nutcracker differs"
total=0
counts=""
for n in 0 1 2; do
  c=$(timeout 5 redis-cli -p "${ring_ports[$n]}" dbsize)
  counts="$counts node$((n + 1))=$c"
  total=$((total + c))
  [ "$c" -gt $((ring_keys / 10)) ] && ok || bad "node$((n + 1)) holds only $c of $ring_keys keys"
done
same "ring keys in all nodes" "$total" "$ring_keys"
echo "twemproxy ring, $ring_keys keys:$counts"
kill "$proxy" 2>/dev/null
for p in "${ring_pids[@]}"; do pid=$p; stop_server; done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
