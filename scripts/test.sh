#!/usr/bin/env bash
# The whole test suite, as the README promises: installs the real services the tests start
# (InfluxDB, VictoriaMetrics, Mosquitto from Debian's packages) when missing, then runs every
# test of the workspace. Tests start their own private instances on free loopback ports.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -x .ci/services.sh ]; then
  .ci/services.sh install
fi
cargo test --workspace --locked "$@"
