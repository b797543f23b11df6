#!/usr/bin/env bash
# Load benchmark of issue 7, bounded and self-stopping: builds the release binaries, then for
# each benchmark starts a fresh trackgate (temp storage, 127.0.0.1 listeners, ack = "durable")
# or a baseline server, runs trackgate-sim against it, stops it, and finally prints one
# results table (Markdown). Everything runs on this machine over loopback.
#
#   bench/run-load.sh            full set (1k/10k closed loop, 1k x 2000 flush, idle soak, storm)
#   bench/run-load.sh --quick    the same steps at toy sizes (a minute; checks the harness)
#
# Sizes and ports can be overridden through the environment (see the defaults below);
# SKIP_BUILD=1 uses the binaries already in $CARGO_TARGET_DIR/release.
# Results (JSON per run, gateway logs, the table) stay in $BENCH_DIR (a temp dir by default).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
BENCH_DIR=${BENCH_DIR:-$(mktemp -d /tmp/tg-bench.XXXXXX)}
QUICK=0
[[ ${1:-} == --quick ]] && QUICK=1

if ((QUICK)); then
  CONNS=${CONNS:-"20 200"}; DURATION=${DURATION:-2}
  FLUSH_CONNS=${FLUSH_CONNS:-20}; FLUSH_RECORDS=${FLUSH_RECORDS:-100}
  FLUSH_BASELINE_RECORDS=${FLUSH_BASELINE_RECORDS:-500}
  IDLE_CONNS=${IDLE_CONNS:-300}; IDLE_HOLD=${IDLE_HOLD:-3}
  STORM_CONNS=${STORM_CONNS:-200}; STORM_WINDOW=${STORM_WINDOW:-2}
else
  CONNS=${CONNS:-"1000 10000"}; DURATION=${DURATION:-10}
  FLUSH_CONNS=${FLUSH_CONNS:-1000}; FLUSH_RECORDS=${FLUSH_RECORDS:-2000}
  # Read-and-discard swallows 2M records in ~1.5 s, mostly connection ramp; 5x the records
  # makes it a steady-state rate (records/s is what is compared).
  FLUSH_BASELINE_RECORDS=${FLUSH_BASELINE_RECORDS:-10000}
  # trackgate and the client each have a 20k fd limit (ulimit -n); keep headroom for the
  # gateway's own files (log, listeners, HTTP) and the warm-up connections.
  IDLE_CONNS=${IDLE_CONNS:-19500}; IDLE_HOLD=${IDLE_HOLD:-30}
  STORM_CONNS=${STORM_CONNS:-10000}; STORM_WINDOW=${STORM_WINDOW:-10}
fi
KINDS=${KINDS:-"gt06 jt808_2013"}
# Ports: gateway BASE+x, baselines BASE+1000+x (x = the protocol's Traccar port suffix).
BASE=${BENCH_PORT_BASE:-15000}
GW_HTTP=$((BASE + 80))
declare -A GW_PORT=([gt06]=$((BASE + 23)) [jt808]=$((BASE + 15)) [teltonika]=$((BASE + 27)))
declare -A BL_PORT=([gt06]=$((BASE + 1023)) [jt808]=$((BASE + 1015)) [teltonika]=$((BASE + 1027)))
# Longest any single step may take before `timeout` kills it (every step is bounded anyway).
STEP_LIMIT=${STEP_LIMIT:-600}

SIM=$TARGET/release/trackgate-sim
TG=$TARGET/release/trackgate
RES=$BENCH_DIR/results
mkdir -p "$RES"
SERVER_PID=
log() { echo "[$(date +%T)] $*" >&2; }

stop_server() {
  if [[ -n $SERVER_PID ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  SERVER_PID=
}
trap stop_server EXIT

need_fds=$(( (IDLE_CONNS > STORM_CONNS ? IDLE_CONNS : STORM_CONNS) + 200 ))
if (( $(ulimit -n) < need_fds )); then
  ulimit -n "$need_fds" 2>/dev/null || {
    echo "ulimit -n is $(ulimit -n); need $need_fds for IDLE_CONNS=$IDLE_CONNS" >&2; exit 2; }
fi

if [[ -z ${SKIP_BUILD:-} ]]; then
  log "building release binaries into $TARGET"
  (cd "$ROOT" && cargo build --release -q -p trackgate -p trackgate-sim)
fi

# Waits until something accepts on 127.0.0.1:$1 (at most 30 s).
wait_port() {
  for _ in $(seq 300); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "nothing listening on 127.0.0.1:$1" >&2; return 1
}

# Starts a fresh gateway: empty storage, loopback listeners for the benchmarked protocols,
# every other protocol disabled (they would bind 0.0.0.0 on their default ports).
start_gateway() {
  local name=$1 dir=$BENCH_DIR/gw-$1 p
  rm -rf "$dir"; mkdir -p "$dir"
  {
    printf '[http]\nlisten = "127.0.0.1:%s"\n\n' "$GW_HTTP"
    # 8 GiB: the 2M-record flush must never hit the log's cap (an unACKed frame would stall).
    printf '[storage]\ndir = "%s/data"\nmax_bytes = 8589934592\n\n' "$dir"
    for p in $("$TG" protocols | awk '{print $1}'); do
      case $p in
        gt06|jt808|teltonika)
          printf '[protocols.%s]\nlisten = "127.0.0.1:%s"\nudp = false\nack = "durable"\n' \
            "$p" "${GW_PORT[$p]}"
          # Refuse cleanly just under the fd limit instead of failing accept() with EMFILE;
          # every load connection comes from 127.0.0.x, so the per-address limits go up too.
          printf 'max_connections = 19800\nmax_connections_per_ip = 19800\n' ;
          printf 'new_connections_per_ip_per_sec = 100000\n\n' ;;
        *) printf '[protocols.%s]\nenabled = false\n\n' "$p" ;;
      esac
    done
  } >"$dir/bench.toml"
  "$TG" serve --config "$dir/bench.toml" >"$dir/trackgate.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 300); do
    curl -sf "http://127.0.0.1:$GW_HTTP/healthz" >/dev/null 2>&1 && return 0
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$dir/trackgate.log" >&2; return 1; }
    sleep 0.1
  done
  echo "trackgate did not become healthy; log in $dir/trackgate.log" >&2; return 1
}

# Starts a baseline server (discard|pingpong) for a gateway protocol, bounded by `timeout`.
start_baseline() {
  local kind=$1 proto=$2
  timeout "$STEP_LIMIT" "$SIM" baseline --kind "$kind" --protocol "$proto" \
    --listen "127.0.0.1:${BL_PORT[$proto]}" >"$BENCH_DIR/baseline-$kind-$proto.log" 2>&1 &
  SERVER_PID=$!
  wait_port "${BL_PORT[$proto]}"
}

# SYNs dropped because a listen queue was full, machine-wide (TcpExt ListenDrops): a dropped
# SYN costs the client a 1 s retransmit, which shows up as ~1 s login/ACK latency outliers.
listen_drops() {
  awk '/^TcpExt:/ { if (!h) { for (i = 1; i <= NF; i++) n[$i] = i; h = 1 }
                    else print $(n["ListenDrops"]) }' /proc/net/netstat
}

# Runs one trackgate-sim command, saving its JSON line as $RES/$name.json, the load average
# before it as $name.load and the listen drops during it as $name.drops.
run() {
  local name=$1 d0; shift
  log "$name: trackgate-sim $*"
  uptime | sed 's/.*load average: //' >"$RES/$name.load"
  d0=$(listen_drops)
  timeout "$STEP_LIMIT" "$SIM" "$@" >"$RES/$name.json" 2>"$RES/$name.err" || {
    echo "$name failed:" >&2; cat "$RES/$name.err" >&2; return 1; }
  echo $(( $(listen_drops) - d0 )) >"$RES/$name.drops"
  cat "$RES/$name.err" >&2
}

proto_of() { case $1 in jt808*) echo jt808 ;; *) echo "$1" ;; esac; }

# 1. Closed loop against trackgate and against the ping-pong baseline.
for kind in $KINDS; do
  p=$(proto_of "$kind")
  for n in $CONNS; do
    start_gateway "closed-$kind-$n"
    run "closed-$kind-$n-tg" load --kind "$kind" --target "127.0.0.1:${GW_PORT[$p]}" \
      --connections "$n" --duration "$DURATION"
    stop_server
    start_baseline pingpong "$p"
    run "closed-$kind-$n-pp" load --kind "$kind" --target "127.0.0.1:${BL_PORT[$p]}" \
      --connections "$n" --duration "$DURATION" --ack fixed4
    stop_server
  done
done

# 2. Teltonika backlog flush against trackgate and read-and-discard.
start_gateway flush
run flush-tg load --kind teltonika --mode flush --records "$FLUSH_RECORDS" --batch 25 \
  --target "127.0.0.1:${GW_PORT[teltonika]}" --connections "$FLUSH_CONNS"
stop_server
start_baseline discard teltonika
run flush-discard load --kind teltonika --mode flush --records "$FLUSH_BASELINE_RECORDS" --batch 25 \
  --ack none --target "127.0.0.1:${BL_PORT[teltonika]}" --connections "$FLUSH_CONNS"
stop_server

# 3. Idle soak: a fresh gateway, warm-up, then IDLE_CONNS idle GT06 sessions held.
start_gateway idle
run idle conns --scenario idle --kind gt06 --target "127.0.0.1:${GW_PORT[gt06]}" \
  --connections "$IDLE_CONNS" --hold "$IDLE_HOLD" --server-pid "$SERVER_PID"
stop_server

# 4. Reconnect storm: STORM_CONNS GT06 devices reporting every 2 s, all dropped at once.
start_gateway storm
run storm conns --scenario storm --kind gt06 --target "127.0.0.1:${GW_PORT[gt06]}" \
  --connections "$STORM_CONNS" --window "$STORM_WINDOW"
stop_server

# The table.
"$ROOT/bench/table.sh" "$RES" | tee "$BENCH_DIR/table.md"
log "results in $BENCH_DIR"
