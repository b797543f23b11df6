#!/usr/bin/env bash
# The whole test suite, as the README promises: installs the real services the tests start
# (InfluxDB, VictoriaMetrics, Mosquitto from Debian's packages) and the deployment validators
# (docker-compose, systemd-analyze, cargo-deb, kubernetes-validate) when missing, then runs
# every test of the workspace. Tests start their own private instances on free loopback ports.
# The last line sums every test binary's result ("N passed, N failed"), since cargo's own
# last line is the doc-test summary.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -x .ci/services.sh ]; then
  .ci/services.sh install
fi
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
set +e
cargo test --workspace --locked "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
awk '/^test result:/ { p += $4; f += $6 } END { printf "%d passed, %d failed\n", p, f }' "$log"
exit "$status"
