#!/usr/bin/env bash
# What `--include audio` adds to the 5 frames/s analysis of WolfgangLanger_Pexels.mp4 (19.7 s), for
# this build and a baseline build side by side (e.g. main's binary, whose audio branch has no
# soundscape), runs alternating baseline/new so drifting machine load hits both alike. Prints the
# median wall and CPU time (all threads) per configuration and the added share of the audio branch.
#   BASELINE_BIN=/path/to/old/affectd benchmarks/audio_cost.sh [runs=5]
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${AFFECTD_BIN:-.build/release/affectd}
BASE=${BASELINE_BIN:?set BASELINE_BIN to the baseline affectd binary}
CLIP=${CLIP:-.cache/testdata/feat/WolfgangLanger_Pexels.mp4}
MODEL=${MODEL:-models/default}
RUNS=${1:-5}
PY=${PY:-.venv/bin/python}
if grep -q avx512f /proc/cpuinfo; then export OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-SkylakeX}; fi
export OPENBLAS_NUM_THREADS=1
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) at start"
for i in $(seq "$RUNS"); do
  for who in base new; do
    bin=$BASE; [ "$who" = new ] && bin=$BIN
    "$bin" analyze "$CLIP" --model "$MODEL" --fps 5 --timings >/dev/null 2>"$tmp/$who.plain.$i"
    "$bin" analyze "$CLIP" --model "$MODEL" --fps 5 --include audio --timings >/dev/null 2>"$tmp/$who.audio.$i"
  done
done
echo "machine: load average $(cut -d' ' -f1-3 /proc/loadavg) at end"
"$PY" - "$tmp" "$BASE" "$BIN" <<'PY'
import glob, json, re, statistics, sys
tmp, base, new = sys.argv[1:4]
def load(name):
    runs = [json.loads(re.search(r"^timings-json: (.*)$", open(p).read(), re.M).group(1)) for p in sorted(glob.glob(f"{tmp}/{name}.*"))]
    return (statistics.median(r["total_wall"] for r in runs), statistics.median(r["total_cpu"] for r in runs),
            statistics.median(r["stages"].get("audio", {}).get("cpu", 0) for r in runs), len(runs))
print(f"{'binary':8} {'runs':>4} {'5 fps wall s':>12} {'+audio wall s':>13} {'added':>7} {'5 fps CPU s':>11} {'+audio CPU s':>12} {'added':>7} {'audio stage CPU s':>17}")
for who, path in (("baseline", base), ("new", new)):
    key = "base" if who == "baseline" else "new"
    pw, pc, _, n = load(f"{key}.plain")
    aw, ac, stage, _ = load(f"{key}.audio")
    print(f"{who:8} {n:>4} {pw:>12.3f} {aw:>13.3f} {100 * (aw / pw - 1):>6.1f}% {pc:>11.3f} {ac:>12.3f} {100 * (ac / pc - 1):>6.1f}% {stage:>17.3f}   {path}")
PY
