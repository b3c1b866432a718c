"""Speed of two affectd builds side by side: `affectd analyze --timings` of WolfgangLanger_Pexels.mp4 with
default options, alternating base and new for --rounds rounds per sampling rate (so both see the same
machine load), and prints per rate the median frames/s (wall of the analysis itself, model load
excluded), the median frames per CPU-second (steadier on a shared machine) and new / base.

Usage: .venv/bin/python benchmarks/ab_analyze.py --base /work/main/.build/release/affectd [--new BIN]
       [--rounds 7] [--fps 5 all] [-- extra analyze flags for both]
"""
from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CLIP = ROOT / ".cache" / "testdata" / "feat" / "WolfgangLanger_Pexels.mp4"


def timed(binary: str, fps: str, extra: list[str]) -> tuple[float, float]:
    out = subprocess.run([binary, "analyze", str(CLIP), "--fps", fps, "--timings", *extra],
                         capture_output=True, text=True, check=True, cwd=ROOT)
    t = json.loads(re.search(r"^timings-json: (.*)$", out.stderr, re.M).group(1))
    return t["frames_analyzed"] / t["total_wall"], t["frames_analyzed"] / t["total_cpu"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--base", required=True)
    ap.add_argument("--new", default=str(ROOT / ".build" / "release" / "affectd"))
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--fps", nargs="+", default=["5", "all"])
    ap.add_argument("extra", nargs="*", help="flags passed to both builds' analyze")
    args = ap.parse_args()
    with open("/proc/loadavg") as f:
        print(f"load average at start: {' '.join(f.read().split()[:3])} (shared cores: compare within a row)")
    print(f"{'--fps':>5} {'base frames/s':>14} {'new frames/s':>13} {'new/base':>9} {'base fr/CPU-s':>14} "
          f"{'new fr/CPU-s':>13} {'new/base':>9}")
    for fps in args.fps:
        runs = {"base": [], "new": []}
        for _ in range(args.rounds):
            for side in ("base", "new"):
                runs[side].append(timed(getattr(args, side), fps, args.extra))
        bw, nw = (statistics.median(r[0] for r in runs[s]) for s in ("base", "new"))
        bc, nc = (statistics.median(r[1] for r in runs[s]) for s in ("base", "new"))
        print(f"{fps:>5} {bw:14.1f} {nw:13.1f} {nw / bw:9.3f} {bc:14.1f} {nc:13.1f} {nc / bc:9.3f}")
    with open("/proc/loadavg") as f:
        print(f"load average at end: {' '.join(f.read().split()[:3])}; medians of {args.rounds} alternating rounds")


if __name__ == "__main__":
    main()
