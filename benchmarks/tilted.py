"""Tilted copies of WolfgangLanger_Pexels.mp4 (the whole clip turned by 15, 30, 45 degrees with the ffmpeg
CLI's rotate filter, grey fill, x264 crf 18): seconds with a face and per-second valence against the
upright clip, one `affectd analyze` per copy. What AlignedFerCrop (docs/vision.md) is judged by.

Usage: .venv/bin/python benchmarks/tilted.py [--bin .build/release/affectd] [--angles 15 30 45]
"""
from __future__ import annotations

import argparse
import collections
import json
import subprocess
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CLIP = ROOT / ".cache" / "testdata" / "feat" / "WolfgangLanger_Pexels.mp4"


def per_second(binary: str, clip: Path) -> dict[int, float]:
    out = subprocess.run([binary, "analyze", str(clip)], capture_output=True, text=True, check=True, cwd=ROOT)
    seconds = collections.defaultdict(list)
    for frame in json.loads(out.stdout)["frames"]:
        for face in frame["faces"][:1]:
            if face["valence"] is not None:
                seconds[int(frame["t"])].append(face["valence"])
    return {s: sum(v) / len(v) for s, v in seconds.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bin", default=str(ROOT / ".build" / "release" / "affectd"))
    ap.add_argument("--angles", type=int, nargs="+", default=[15, 30, 45])
    args = ap.parse_args()
    upright = per_second(args.bin, CLIP)
    print(f"upright: {len(upright)} seconds with a face")
    print(f"{'angle':>5} {'seconds with a face':>20} {'within 0.1 of upright':>22} {'max |dV|':>9} {'mean |dV|':>10}")
    with tempfile.TemporaryDirectory() as tmp:
        for angle in args.angles:
            copy = Path(tmp) / f"tilted_{angle}.mp4"
            subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-i", str(CLIP), "-vf",
                            f"rotate={angle}*PI/180:fillcolor=gray", "-an", "-c:v", "libx264", "-crf", "18", str(copy)],
                           check=True)
            tilted = per_second(args.bin, copy)
            diffs = [abs(upright[s] - tilted[s]) for s in sorted(set(upright) & set(tilted))]
            within = sum(d <= 0.1 for d in diffs)
            print(f"{angle:5d} {len(tilted):>14d}/{len(upright):<5d} {within:>16d}/{len(upright):<5d} "
                  f"{max(diffs):9.3f} {sum(diffs) / len(diffs):10.3f}")


if __name__ == "__main__":
    main()
