#!/bin/sh
# Writes the secrets docker-compose.yml needs into a new .env (mode 0600), each a fresh
# random value from /dev/urandom; see .env.example for what each one is.
#
#   scripts/gen-env.sh [FILE]      default FILE: .env beside docker-compose.yml
#
# Refuses to overwrite an existing file (rotating a secret means changing it in the
# service too: InfluxDB keeps the token it was set up with in its volume).
set -eu
cd "$(dirname "$0")/.."
out="${1:-.env}"
if [ -e "$out" ]; then
    echo "gen-env: $out exists; not overwriting it (remove it first to start afresh)" >&2
    exit 1
fi
# 32 random bytes as 64 hex digits: safe in .env, TOML, URLs and shell without quoting.
secret() {
    od -An -N32 -tx1 /dev/urandom | tr -d ' \n'
}
if command -v sha256sum >/dev/null 2>&1; then
    sha256() { printf '%s' "$1" | sha256sum | cut -d' ' -f1; }
else
    sha256() { printf '%s' "$1" | shasum -a 256 | cut -d' ' -f1; }
fi
api_token="$(secret)"
umask 077
tmp="$out.tmp.$$"
trap 'rm -f "$tmp"' EXIT
{
    echo "# Made by scripts/gen-env.sh on $(date -u +%Y-%m-%dT%H:%M:%SZ); see .env.example."
    echo "INFLUXDB_ADMIN_PASSWORD=$(secret)"
    echo "INFLUXDB_TOKEN=$(secret)"
    echo "MQTT_PASSWORD=$(secret)"
    echo "GRAFANA_ADMIN_PASSWORD=$(secret)"
    echo "API_TOKEN=$api_token"
    echo "API_TOKEN_SHA256=$(sha256 "$api_token")"
} >"$tmp"
mv "$tmp" "$out"
trap - EXIT
echo "gen-env: wrote $out (API token: see API_TOKEN in it)" >&2
