#!/usr/bin/env bash
# Leak check of the media path: runs `affectd probe`, `affectd frames` and `affectd-bench decode-bench --memory`
# under valgrind over every edge case and two real clips; fails if valgrind reports a definite or
# indirect leak or any memory error. Slow (valgrind is ~30x): run by hand, not by `make test`.
# Usage: scripts/leak-check.sh   Env: AFFECTD_BIN (default .build/release/affectd)
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=${AFFECTD_BIN:-.build/release/affectd}
DATA=${AFFECTD_TESTDATA:-.cache/testdata}
[ -x "$BIN" ] || { echo "missing $BIN: run make build" >&2; exit 1; }
[ -d "$DATA/edge" ] || { echo "missing $DATA/edge: run make testdata" >&2; exit 1; }
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
VG=(valgrind --leak-check=full --errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect
    --error-exitcode=99 --quiet)
failures=0
runs=0
check() {   # runs "$@" under valgrind; exit 99 = leak or memory error (input errors exit 2 and are fine)
  runs=$((runs + 1))
  "${VG[@]}" "$@" >"$OUT/stdout" 2>"$OUT/valgrind"
  local rc=$?
  if [ $rc -eq 99 ] || grep -q "definitely lost\|indirectly lost\|Invalid read\|Invalid write" "$OUT/valgrind"; then
    echo "LEAK/ERROR: $*"; sed -n 1,40p "$OUT/valgrind"; failures=$((failures + 1))
  else
    printf "ok (exit %d): %s\n" "$rc" "$*"
  fi
}
for f in "$DATA"/edge/* "$DATA/feat/single_face.mp4" "$DATA/feat/face_noface.mov" "$DATA/feat/Image_with_alpha.png"; do
  check "$BIN" probe "$f"
  check "$BIN" frames "$f" --fps 2 --size 96x96 --out "$OUT/frames"
  check "${BIN}-bench" decode-bench "$f" --memory --size 64x64 --format float --fps 5
done
# Native size at odd widths (single_face.jpg is 572 wide): swscale's stores once ran past a tight buffer.
for f in "$DATA"/feat/*.jpg "$DATA"/feat/*.png; do
  check "$BIN" frames "$f" --out "$OUT/frames"
done
echo "leak check: $runs runs, $failures with leaks or memory errors"
[ $failures -eq 0 ]
