#!/usr/bin/env bash
# Installs what scripts/container-check needs (and only it; `make setup` does not): podman to build and
# mount images without a Docker engine, debootstrap to make the Debian 12 base images locally, and the
# storage/user-namespace helpers podman uses. Idempotent: does nothing when everything is present.
set -euo pipefail

PACKAGES=(podman debootstrap fuse-overlayfs uidmap)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "setup-container-tools: installing Debian packages: ${missing[*]}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
