#!/usr/bin/env bash
# Creates .venv with the pinned helper-tool packages. Idempotent: a second run checks a stamp and exits.
set -euo pipefail
cd "$(dirname "$0")/.."
REQ=tools/requirements.txt
STAMP=.venv/.requirements.sha256
want=$(sha256sum "$REQ" | cut -d' ' -f1)
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ] && [ -x .venv/bin/python ]; then exit 0; fi
echo "setup: creating Python venv .venv from $REQ"
python3 -m venv .venv
.venv/bin/pip install -q --upgrade pip >/dev/null
.venv/bin/pip install -q -r "$REQ"
echo "$want" > "$STAMP"
