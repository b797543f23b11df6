#!/bin/sh
# Real services and tools for the integration tests (tests/support/services.rs starts private
# instances on loopback ports with temp dirs; nothing here starts a daemon).
#
#   .ci/services.sh install   install what is missing (idempotent, quiet):
#                             - from the Debian archive: InfluxDB 1.x, VictoriaMetrics,
#                               Mosquitto, nats-server (JetStream log backend tests),
#                               docker-compose (validates docker-compose.yml; no
#                               engine), systemd-analyze (verifies deploy/trackgate.service),
#                               Chromium with its WebDriver (the console's browser tests)
#                             - cargo-deb (crates.io, `cargo install`; builds the .deb the
#                               tests inspect), kept in ~/.cargo/bin so later runs skip it
#                             - kubernetes-validate (PyPI, in a venv under ~/.cache;
#                               validates deploy/k8s/ against the Kubernetes schemas)
#   .ci/services.sh check     exit 1 and name what is missing
set -eu

BINARIES="influxd influx victoria-metrics mosquitto mosquitto_sub mosquitto_passwd nats-server docker-compose systemd-analyze chromium chromedriver"
# docker-compose (v1, Python) only validates docker-compose.yml (`config -q`): it needs no
# Docker engine for that, and none runs here. chromium + chromium-driver: the console's
# tests drive a headless browser over WebDriver (tests/console_browser.rs).
PACKAGES="influxdb influxdb-client victoria-metrics mosquitto mosquitto-clients nats-server docker-compose systemd chromium chromium-driver"
CARGO_DEB_VERSION="3.8.0"
K8S_VALIDATE_VERSION="1.37.0"
K8S_VENV="${XDG_CACHE_HOME:-$HOME/.cache}/trackgate-ci/k8s-venv"
# Where the tests look for kubernetes-validate (on PATH for root; tests also look here).
BIN_DIR="/usr/local/bin"

missing_packages() {
    for b in $BINARIES; do
        command -v "$b" >/dev/null 2>&1 || [ -x "/usr/sbin/$b" ] || echo "$b"
    done
}

missing() {
    missing_packages
    command -v cargo-deb >/dev/null 2>&1 || [ -x "$HOME/.cargo/bin/cargo-deb" ] || echo cargo-deb
    [ -x "$K8S_VENV/bin/kubernetes-validate" ] || echo kubernetes-validate
}

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

install_packages() {
    [ -n "$(missing_packages)" ] || return 0
    $SUDO apt-get update -qq
    # shellcheck disable=SC2086
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $PACKAGES >/dev/null
    # The packages enable system services; the tests never use them (they start private
    # instances), so do not fail if there is no init system to start them.
}

install_cargo_deb() {
    if command -v cargo-deb >/dev/null 2>&1 || [ -x "$HOME/.cargo/bin/cargo-deb" ]; then
        return 0
    fi
    # ~3 min once on 2 cores; the binary stays in ~/.cargo/bin for later runs.
    cargo install --locked --quiet cargo-deb --version "$CARGO_DEB_VERSION"
}

install_k8s_validate() {
    if [ ! -x "$K8S_VENV/bin/kubernetes-validate" ]; then
        if ! python3 -m venv "$K8S_VENV" 2>/dev/null; then
            DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq python3-venv >/dev/null
            python3 -m venv "$K8S_VENV"
        fi
        "$K8S_VENV/bin/pip" install --quiet "kubernetes-validate==$K8S_VALIDATE_VERSION"
    fi
    $SUDO ln -sf "$K8S_VENV/bin/kubernetes-validate" "$BIN_DIR/kubernetes-validate" 2>/dev/null || true
}

case "${1:-}" in
install)
    if [ -z "$(missing)" ]; then
        exit 0
    fi
    install_packages
    install_cargo_deb
    install_k8s_validate
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
