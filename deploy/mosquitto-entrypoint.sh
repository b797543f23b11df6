#!/bin/sh
# Writes Mosquitto's password file from the environment, then runs the command (mosquitto).
# The file lives in a tmpfs (docker-compose.yml), so no password hash is stored on disk or
# in the image.
#   MQTT_USERNAME (default trackgate), MQTT_PASSWORD (required),
#   MOSQUITTO_PASSWORD_FILE (default /mosquitto/run/passwd)
set -eu
: "${MQTT_PASSWORD:?MQTT_PASSWORD is not set (run scripts/gen-env.sh)}"
file="${MOSQUITTO_PASSWORD_FILE:-/mosquitto/run/passwd}"
umask 077
rm -f "$file"
touch "$file"
mosquitto_passwd -b "$file" "${MQTT_USERNAME:-trackgate}" "$MQTT_PASSWORD"
exec "$@"
