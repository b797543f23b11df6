#!/usr/bin/env bash
# Prints the Markdown results table from the JSON lines bench/run-load.sh saved in a results
# directory: per run <run>.json, <run>.load (the `uptime` load averages before it) and
# <run>.drops (SYNs dropped by full listen queues during it, machine-wide).
#   bench/table.sh /tmp/tg-bench.XXXX/results
set -euo pipefail
RES=${1:?usage: table.sh RESULTS_DIR}

# jq helpers: µs → "12.3 ms", numbers rounded, null → "-".
JQ_DEFS='
def ms: if . == null then "-" else ((. / 100 | round) / 10 | tostring) + " ms" end;
def n0: if . == null then "-" else (round | tostring) end;
def n2: if . == null then "-" else ((. * 100 | round) / 100 | tostring) end;'
q() { jq -r "$JQ_DEFS $2" "$RES/$1.json" 2>/dev/null || echo "-"; }
load() { cat "$RES/$1.load" 2>/dev/null || echo "-"; }
drops() { cat "$RES/$1.drops" 2>/dev/null || echo "-"; }
ratio() { # $1/$2 as a percentage
  awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0 && a != "-") printf "%.0f %%", 100 * a / b; else print "-" }'
}

echo "| run | trackgate | baseline | ratio | load avg (1/5/15) | SYN drops (gw/baseline) |"
echo "|---|---|---|---|---|---|"
for f in "$RES"/closed-*-tg.json; do
  [[ -e $f ]] || continue
  name=$(basename "$f" -tg.json)
  tg=$(q "$name-tg" '"\(.frames_per_s|n0) frames/s, p50 \(.p50_us|ms), p99 \(.p99_us|ms) (\(.connections) conns, \(.connect_failures) failed, \(.errors) errors)"')
  pp=$(q "$name-pp" '"\(.frames_per_s|n0) frames/s, p50 \(.p50_us|ms), p99 \(.p99_us|ms) (\(.connections) conns)"')
  r=$(ratio "$(q "$name-tg" .frames_per_s)" "$(q "$name-pp" .frames_per_s)")
  kind=${name#closed-}
  echo "| closed loop ${kind%-*}, ${kind##*-} conns, vs ping-pong | $tg | $pp | $r | $(load "$name-tg") | $(drops "$name-tg")/$(drops "$name-pp") |"
done
if [[ -e $RES/flush-tg.json ]]; then
  tg=$(q flush-tg '"\(.records_per_s|n0) records/s, \(.records) records, packet ACK p50 \(.p50_us|ms) p99 \(.p99_us|ms) (\(.connections) conns, \(.errors) errors, \(.elapsed_s|n2) s)"')
  bl=$(q flush-discard '"\(.records_per_s|n0) records/s (\(.records) records, \(.elapsed_s|n2) s)"')
  r=$(ratio "$(q flush-tg .records_per_s)" "$(q flush-discard .records_per_s)")
  echo "| teltonika flush, packets of 25, vs read-and-discard | $tg | $bl | $r | $(load flush-tg) | $(drops flush-tg)/$(drops flush-discard) |"
fi
if [[ -e $RES/idle.json ]]; then
  tg=$(q idle '"\(.connections) idle sessions (\(.connect_failures) failed, \(.still_open) still open after the hold): RSS \(.rss_before_kib) → \(.rss_after_kib) KiB = \(.rss_per_conn_bytes|n0) B/conn (\(.rss_after_close_kib) KiB once all closed); idle CPU \(.idle_cpu_percent|n2) % of a core over \(.hold_s|n0) s"')
  echo "| idle soak gt06 | $tg | — | goal ≤ 4096 B/conn | $(load idle) | $(drops idle) |"
fi
if [[ -e $RES/storm.json ]]; then
  tg=$(q storm '"\(.connections) conns dropped at once (\(.dropped)), back within \(.window_s|n0) s window: all logged in after \(.all_back_s|n2) s, lost \(.lost), retried attempts \(.login_retries); login p50 \(.login_p50_us|ms) p99 \(.login_p99_us|ms); position ACK p50 \(.storm_p50_us|ms) p99 \(.storm_p99_us|ms) during the storm (\(.storm_frames) frames; p99 \(.steady_p99_us|ms) before); \(.errors) errors"')
  echo "| reconnect storm gt06 | $tg | — | — | $(load storm) | $(drops storm) |"
fi
