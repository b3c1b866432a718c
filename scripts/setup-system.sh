#!/usr/bin/env bash
# Installs the Debian packages affectd needs to build, test and benchmark.
# Idempotent: does nothing (and needs no network) when everything is present.
set -euo pipefail

PACKAGES=(
  pkg-config
  ffmpeg libavformat-dev libavcodec-dev libavutil-dev libswscale-dev libswresample-dev
  libopenblas-dev libopenblas0-pthread
  libssl-dev zlib1g-dev
  libsqlite3-dev libpq-dev   # job stores (Sources/CSQLite, Sources/CLibPQ)
  postgresql                 # the job-store tests start their own server (Tests/integration/pg_server.py)
  python3-venv
  valgrind wrk curl
  nginx-light
  chromium   # headless render check of the HTML report (scripts/check-report.sh)
  espeak-ng  # speech test audio with known timing and pitch (tools/reference/audio_vectors.py)
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "setup: installing Debian packages: ${missing[*]}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
