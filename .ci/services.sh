#!/bin/sh
# Real services for the integration tests (tests/support/services.rs starts private instances
# on loopback ports with temp dirs; nothing here starts a daemon).
#
#   .ci/services.sh install   install InfluxDB 1.x, VictoriaMetrics, Mosquitto,
#                             docker-compose (a validator only) and Chromium with its
#                             WebDriver (the console's browser tests) from the Debian archive
#                             if any binary is missing (idempotent, quiet)
#   .ci/services.sh check     exit 1 and name what is missing
set -eu

BINARIES="influxd influx victoria-metrics mosquitto mosquitto_sub docker-compose chromium chromedriver"
# docker-compose (v1, Python) only validates deploy/docker-compose.yml (`config -q`): it needs
# no Docker engine for that, and none runs here. chromium + chromium-driver: the console's
# tests drive a headless browser over WebDriver (tests/console_browser.rs).
PACKAGES="influxdb influxdb-client victoria-metrics mosquitto mosquitto-clients docker-compose chromium chromium-driver"

missing() {
    for b in $BINARIES; do
        command -v "$b" >/dev/null 2>&1 || [ -x "/usr/sbin/$b" ] || echo "$b"
    done
}

case "${1:-}" in
install)
    if [ -z "$(missing)" ]; then
        exit 0
    fi
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
    $SUDO apt-get update -qq
    # shellcheck disable=SC2086
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $PACKAGES >/dev/null
    # The packages enable system services; the tests never use them (they start private
    # instances), so do not fail if there is no init system to start them.
    m="$(missing)"
    if [ -n "$m" ]; then
        echo "still missing after install: $m" >&2
        exit 1
    fi
    ;;
check)
    m="$(missing)"
    if [ -n "$m" ]; then
        echo "missing: $m (run .ci/services.sh install)" >&2
        exit 1
    fi
    ;;
*)
    echo "usage: $0 install|check" >&2
    exit 2
    ;;
esac
