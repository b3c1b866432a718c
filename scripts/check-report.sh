#!/usr/bin/env bash
# Renders an affectd HTML report in headless Chromium (Debian's `chromium`, from setup-system.sh):
# fails on any JavaScript console error or when the page did not finish drawing; prints how many
# curves it drew; with a second argument, also writes a screenshot.
#   scripts/check-report.sh report.html [screenshot.png]
set -euo pipefail
html=$(realpath "$1")
png=${2:-}
command -v chromium >/dev/null || { echo "check-report: chromium is not installed (run scripts/setup-system.sh)" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# --no-sandbox: containers and CI run as root; the page is our own file and loads nothing.
flags=(--headless --no-sandbox --disable-gpu --hide-scrollbars --user-data-dir="$tmp/profile" --enable-logging=stderr --v=0)
timeout 60 chromium "${flags[@]}" --dump-dom "file://$html" >"$tmp/dom.html" 2>"$tmp/log.txt" || true
if grep -E "CONSOLE|Uncaught" "$tmp/log.txt" | grep -Eiq "error|uncaught"; then
  echo "check-report: JavaScript errors:" >&2; grep -E "CONSOLE|Uncaught" "$tmp/log.txt" >&2; exit 1
fi
grep -q 'data-rendered="true"' "$tmp/dom.html" || { echo "check-report: the page did not finish rendering" >&2; exit 1; }
echo "curves=$(grep -o 'class="smoothed"' "$tmp/dom.html" | wc -l) raw_points=$(grep -o 'class="raw"' "$tmp/dom.html" | wc -l) bands=$(grep -o 'class="band"' "$tmp/dom.html" | wc -l)" \
  "speech_segments=$(grep -o 'class="speech"' "$tmp/dom.html" | wc -l) f0_points=$(grep -o 'class="f0"' "$tmp/dom.html" | wc -l)" \
  "signals=$(grep -o 'class="signal"' "$tmp/dom.html" | wc -l)" \
  "pleasantness=$(grep -o 'class="pleasantness"' "$tmp/dom.html" | wc -l) eventfulness=$(grep -o 'class="eventfulness"' "$tmp/dom.html" | wc -l)"
if [ -n "$png" ]; then
  timeout 60 chromium "${flags[@]}" --window-size=1000,1100 --screenshot="$(realpath -m "$png")" "file://$html" 2>/dev/null
  [ -s "$png" ] || { echo "check-report: no screenshot written" >&2; exit 1; }
fi
