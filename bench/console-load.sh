#!/usr/bin/env bash
# The console's load check (issue 14): a release trackgate on loopback, 10 000 simulated
# trucks (GT06 and Teltonika) reporting every 10 s (simulator/scenarios/console-10k.toml),
# and the console open in headless Chromium, where bench/console_frames.py measures frame
# intervals, long tasks and map draw time while panning and zooming. Bounded and
# self-stopping; prints the gateway's CPU and the page's JSON figures.
#
#   bench/console-load.sh                 10 000 devices, 30 s measurement
#   DEVICES=1000 bench/console-load.sh    a smaller fleet (the scenario's count is overridden)
#
# SKIP_BUILD=1 uses the binaries already in $CARGO_TARGET_DIR/release. Needs chromium and
# chromedriver (.ci/services.sh install).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
BENCH_DIR=${BENCH_DIR:-$(mktemp -d /tmp/tg-console.XXXXXX)}
DEVICES=${DEVICES:-10000}
SECONDS_MEASURED=${SECONDS_MEASURED:-30}
BASE=${BENCH_PORT_BASE:-17000}
HTTP=$((BASE + 80)); GT06=$((BASE + 23)); TELTONIKA=$((BASE + 27))
TG=$TARGET/release/trackgate
SIM=$TARGET/release/trackgate-sim
PIDS=()
log() { echo "[$(date +%T)] $*" >&2; }
cleanup() { for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

ulimit -n $((DEVICES + 2000)) 2>/dev/null || { echo "ulimit -n too low for $DEVICES devices" >&2; exit 2; }
if [[ -z ${SKIP_BUILD:-} ]]; then
  log "building release binaries into $TARGET"
  (cd "$ROOT" && cargo build --release -q -p trackgate -p trackgate-sim)
fi

mkdir -p "$BENCH_DIR"
{
  printf '[http]\nlisten = "127.0.0.1:%s"\n\n[storage]\ndir = "%s/data"\n\n' "$HTTP" "$BENCH_DIR"
  for p in $("$TG" protocols | awk '{print $1}'); do
    case $p in
      gt06) printf '[protocols.gt06]\nlisten = "127.0.0.1:%s"\nudp = false\n\n' "$GT06" ;;
      teltonika) printf '[protocols.teltonika]\nlisten = "127.0.0.1:%s"\nudp = false\n\n' "$TELTONIKA" ;;
      *) printf '[protocols.%s]\nenabled = false\n\n' "$p" ;;
    esac
  done
} >"$BENCH_DIR/gateway.toml"
"$TG" serve --config "$BENCH_DIR/gateway.toml" >"$BENCH_DIR/trackgate.log" 2>&1 &
GW=$!; PIDS+=("$GW")
for _ in $(seq 300); do curl -sf "http://127.0.0.1:$HTTP/healthz" >/dev/null && break; sleep 0.1; done

RUN_FOR=$((SECONDS_MEASURED + 240))
log "fleet: $DEVICES devices for at most ${RUN_FOR} s"
timeout $((RUN_FOR + 60)) "$SIM" run --scenario "$ROOT/simulator/scenarios/console-10k.toml" \
  --devices "$DEVICES" --duration "$RUN_FOR" \
  --target "gt06=127.0.0.1:$GT06" --target "teltonika=127.0.0.1:$TELTONIKA" \
  >"$BENCH_DIR/sim.json" 2>"$BENCH_DIR/sim.log" &
PIDS+=("$!")

# Every device seen at least once (the page then loads them all from REST).
for _ in $(seq 1200); do
  n=$( (curl -s "http://127.0.0.1:$HTTP/api/devices?limit=10000" || true) | grep -o '"id"' | wc -l || true)
  (( n >= DEVICES )) && break
  sleep 0.5
done
log "gateway has $n devices; measuring the page for ${SECONDS_MEASURED} s"
cpu0=$(awk '{print $14 + $15}' "/proc/$GW/stat")
timeout $((SECONDS_MEASURED + 300)) python3 "$ROOT/bench/console_frames.py" "http://127.0.0.1:$HTTP/#/map" \
  --seconds "$SECONDS_MEASURED" --devices "$DEVICES" --screenshot "$BENCH_DIR/console-10k.png" | tee "$BENCH_DIR/page.json"
cpu1=$(awk '{print $14 + $15}' "/proc/$GW/stat")
log "gateway CPU during page load + measurement: $(( (cpu1 - cpu0) / $(getconf CLK_TCK) )) s; load average $(cut -d' ' -f1-3 /proc/loadavg)"
log "results in $BENCH_DIR"
