#!/usr/bin/env bash
# The fuzz campaign: every target in fuzz/ for SECONDS each (default 300), JOBS at a time
# (default 2), starting from the captured device frames (tests/fixtures) plus the committed
# minimized corpus (fuzz/seeds). Needs the nightly toolchain and cargo-fuzz
# (`cargo install cargo-fuzz`).
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]
#
# Afterwards: fuzz/seeds/<target>/ holds the minimized corpus (commit it: tests/fuzz_corpus.rs
# replays it in the normal suite), crashes are in fuzz/artifacts/<target>/ (copy each into
# fuzz/regressions/<target>/ once fixed), and fuzz/campaign.log has each target's
# executions and outcome.
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-300}"
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(stream datagram http mqtt record config shipment_json wal_segment)
fi
jobs="${JOBS:-2}"
FUZZ_SEED_DIR="$PWD/fuzz/corpus" cargo test -q --test fuzz_corpus write_seeds -- --ignored >/dev/null
(cd fuzz && cargo +nightly fuzz build)
bin=fuzz/target/x86_64-unknown-linux-gnu/release
run() {
  local t="$1" log="fuzz/$1.log" status=0
  mkdir -p "fuzz/corpus/$t" "fuzz/seeds/$t" "fuzz/artifacts/$t"
  cp -n fuzz/seeds/"$t"/* "fuzz/corpus/$t/" 2>/dev/null || true
  # -rss_limit_mb / -malloc_limit_mb: an input that makes a decoder allocate without bound
  # is a failure, not a slow run.
  "$bin/$t" "fuzz/corpus/$t" -max_total_time="$secs" -rss_limit_mb=2048 \
      -malloc_limit_mb=512 -max_len=8192 -print_final_stats=1 \
      -artifact_prefix="fuzz/artifacts/$t/" >"$log" 2>&1 || status=$?
  local execs
  execs=$(grep -E '^stat::number_of_executed_units' "$log" | awk '{print $2}' || true)
  echo "$t: ${execs:-?} executions in ${secs} s, exit $status ($( [ "$status" = 0 ] && echo 'no crash' || echo "crash: see fuzz/artifacts/$t" ))" >> fuzz/campaign.log
  # Minimize into fuzz/seeds/<t>: the inputs that keep the coverage reached.
  rm -rf "fuzz/seeds/$t.new" && mkdir -p "fuzz/seeds/$t.new"
  "$bin/$t" -merge=1 "fuzz/seeds/$t.new" "fuzz/corpus/$t" -rss_limit_mb=2048 >/dev/null 2>&1 || true
  rm -rf "fuzz/seeds/$t" && mv "fuzz/seeds/$t.new" "fuzz/seeds/$t"
}
: > fuzz/campaign.log
i=0
for t in "${targets[@]}"; do
  run "$t" &
  i=$((i + 1))
  if [ $((i % jobs)) -eq 0 ]; then wait; fi
done
wait
cat fuzz/campaign.log
