#!/usr/bin/env bash
# End-to-end throughput into a real InfluxDB: a private influxd (1.x, Debian's package) and a
# fresh trackgate with `[influx]`, a Teltonika backlog flush (DEVICES x RECORDS in packets of
# 25, every packet ACKed after its fsync), then the time until the InfluxDB sink's log lag is
# 0 and the number of `position` points InfluxDB holds (must equal the records sent).
#
#   bench/influx-e2e.sh                 1000 devices x 500 records
#   DEVICES=100 RECORDS=100 bench/influx-e2e.sh
#
# SKIP_BUILD=1 uses the binaries already in $CARGO_TARGET_DIR/release. Bounded: every wait
# has a limit; influxd and trackgate are stopped on exit.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
DIR=${BENCH_DIR:-$(mktemp -d /tmp/tg-influx-e2e.XXXXXX)}
DEVICES=${DEVICES:-1000}
RECORDS=${RECORDS:-500}
BASE=${BENCH_PORT_BASE:-17000}
IFX=$((BASE + 86)) GW_HTTP=$((BASE + 80)) TELTONIKA=$((BASE + 27))
SIM=$TARGET/release/trackgate-sim
TG=$TARGET/release/trackgate
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

command -v influxd >/dev/null || { echo "influxd not on PATH (.ci/services.sh install)" >&2; exit 2; }
if [[ -z ${SKIP_BUILD:-} ]]; then
  (cd "$ROOT" && cargo build --release -q -p trackgate -p trackgate-sim)
fi

mkdir -p "$DIR"
INFLUXDB_REPORTING_DISABLED=true INFLUXDB_BIND_ADDRESS=127.0.0.1:$((BASE + 88)) \
  INFLUXDB_META_DIR="$DIR/influx/meta" INFLUXDB_DATA_DIR="$DIR/influx/data" \
  INFLUXDB_DATA_WAL_DIR="$DIR/influx/wal" INFLUXDB_DATA_QUERY_LOG_ENABLED=false \
  INFLUXDB_MONITOR_STORE_ENABLED=false INFLUXDB_HTTP_LOG_ENABLED=false \
  INFLUXDB_HTTP_BIND_ADDRESS=127.0.0.1:$IFX influxd run -config /dev/null >"$DIR/influxd.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 300); do curl -sf "127.0.0.1:$IFX/ping" >/dev/null && break; sleep 0.1; done

{
  printf '[http]\nlisten = "127.0.0.1:%s"\n[storage]\ndir = "%s/gw"\nmax_bytes = 8589934592\n' \
    "$GW_HTTP" "$DIR"
  printf '[influx]\nurl = "http://127.0.0.1:%s"\n' "$IFX"
  for p in $("$TG" protocols | awk '{print $1}'); do
    if [[ $p == teltonika ]]; then
      printf '[protocols.teltonika]\nlisten = "127.0.0.1:%s"\nudp = false\nack = "durable"\n' "$TELTONIKA"
    else
      printf '[protocols.%s]\nenabled = false\n' "$p"
    fi
  done
} >"$DIR/gw.toml"
"$TG" serve --config "$DIR/gw.toml" >"$DIR/trackgate.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 300); do curl -sf "127.0.0.1:$GW_HTTP/healthz" >/dev/null && break; sleep 0.1; done

lag() {
  curl -s "127.0.0.1:$GW_HTTP/metrics" |
    awk '/^trackgate_wal_consumer_lag_records\{consumer="influx"\}/ { print $2 }'
}
t0=$(date +%s.%N)
"$SIM" load --kind teltonika --mode flush --records "$RECORDS" --batch 25 \
  --target "127.0.0.1:$TELTONIKA" --connections "$DEVICES" >"$DIR/load.json"
t1=$(date +%s.%N)
for _ in $(seq 6000); do [[ $(lag) == 0 ]] && break; sleep 0.1; done
t2=$(date +%s.%N)
points=$(curl -s "127.0.0.1:$IFX/query" --data-urlencode db=trackgate \
  --data-urlencode "q=SELECT count(lat) FROM position" |
  sed -n 's/.*"values":\[\["[^"]*",\([0-9]*\)\]\].*/\1/p')
total=$((DEVICES * RECORDS))
awk -v n="$total" -v p="${points:-0}" -v a="$t0" -v b="$t1" -v c="$t2" 'BEGIN {
  printf "%d records ACKed in %.1f s (%.0f records/s); all in InfluxDB after %.1f s: %.0f points/s end to end; InfluxDB holds %d position points (%s)\n",
    n, b - a, n / (b - a), c - a, n / (c - a), p, (p == n ? "= records" : "MISMATCH") }'
curl -s "127.0.0.1:$GW_HTTP/metrics" | grep -E '^trackgate_influx_(lines_written|bad_lines)_total|^trackgate_influx_request_seconds_(sum|count)'
