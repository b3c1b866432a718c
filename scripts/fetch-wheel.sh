#!/usr/bin/env bash
# fetch-wheel.sh NAME==VERSION SHA256 DEST_DIR
# Downloads one pinned wheel from PyPI with `pip download --no-deps`, verifies its sha256 and
# leaves it in DEST_DIR. A cached wheel with the right hash is reused; a wrong hash is an error.
set -euo pipefail
spec=$1 sha=$2 dest=$3
mkdir -p "$dest"
name=${spec%%==*} version=${spec##*==}
pattern="$(echo "$name" | tr '-' '_')-${version}-*.whl"
found=$(find "$dest" -maxdepth 1 -name "$pattern" | head -1)
if [ -n "$found" ] && echo "$sha  $found" | sha256sum -c --status; then echo "$found"; exit 0; fi
rm -f "$dest"/$pattern
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if ! pip download --no-deps --no-cache-dir -q "$spec" -d "$tmp" >&2; then
  echo "error: could not download $spec from PyPI" >&2; exit 1
fi
whl=$(find "$tmp" -maxdepth 1 -name "$pattern" | head -1)
[ -n "$whl" ] || { echo "error: pip produced no wheel for $spec" >&2; exit 1; }
got=$(sha256sum "$whl" | cut -d' ' -f1)
if [ "$got" != "$sha" ]; then
  echo "error: $spec sha256 mismatch: expected $sha, got $got (refusing to use it)" >&2; exit 1
fi
mv "$whl" "$dest/"
echo "$dest/$(basename "$whl")"
