"""Tilted copies of WolfgangLanger_Pexels.mp4 (the whole clip turned by 15, 30, 45 degrees with the ffmpeg
CLI's rotate filter, grey fill, x264 crf 18), on the clip's own 640x360 canvas (`keep`: the turned
frame's corners are cut off, and with them the face's chin on some seconds) and on a canvas grown to
hold the whole turned frame (`expand`): seconds with a face and per-second valence against the
upright clip, one `affectd analyze` per copy, with the faces between detections followed by O-Net
(`--between-detections track`, the default) and with the boxes reused (`reuse`), each against the
upright clip analysed the same way. What AlignedFerCrop and tracking (docs/vision.md) are judged by.

Usage: .venv/bin/python benchmarks/tilted.py [--bin .build/release/affectd] [--angles 15 30 45]
       [--canvas keep expand]
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
MODES = ["track", "reuse"]
# ffmpeg rotate options per canvas; an expanded canvas is rounded up to even sides for yuv420p.
CANVAS = {"keep": "", "expand": ":ow='ceil(rotw({a})/2)*2':oh='ceil(roth({a})/2)*2'"}


def per_second(binary: str, clip: Path, mode: str) -> dict[int, float]:
    out = subprocess.run([binary, "analyze", str(clip), "--between-detections", mode],
                         capture_output=True, text=True, check=True, cwd=ROOT)
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
    ap.add_argument("--canvas", nargs="+", choices=list(CANVAS), default=list(CANVAS))
    args = ap.parse_args()
    upright = {mode: per_second(args.bin, CLIP, mode) for mode in MODES}
    print("upright: " + ", ".join(f"{m} {len(upright[m])} seconds with a face" for m in MODES))
    print(f"{'canvas':>6} {'angle':>5} {'mode':>6} {'seconds with a face':>20} {'within 0.1 of upright':>22} "
          f"{'max |dV|':>9} {'mean |dV|':>10}  seconds off by > 0.1 (|dV|)")
    with tempfile.TemporaryDirectory() as tmp:
        for canvas in args.canvas:
            for angle in args.angles:
                run_copy(args.bin, upright, Path(tmp), canvas, angle)


def run_copy(binary: str, upright: dict, tmp: Path, canvas: str, angle: int) -> None:
    """One copy turned by `angle` on `canvas`, analysed in both modes, one line each."""
    copy = tmp / f"tilted_{canvas}_{angle}.mp4"
    turn = f"{angle}*PI/180"
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-i", str(CLIP), "-vf",
                    f"rotate={turn}:fillcolor=gray" + CANVAS[canvas].format(a=turn), "-an", "-c:v", "libx264",
                    "-crf", "18", str(copy)],
                   check=True)
    for mode in MODES:
        ref, tilted = upright[mode], per_second(binary, copy, mode)
        diffs = {s: abs(ref[s] - tilted[s]) for s in sorted(set(ref) & set(tilted))}
        within = sum(d <= 0.1 for d in diffs.values())
        off = " ".join(f"{s}({d:.2f})" for s, d in diffs.items() if d > 0.1)
        print(f"{canvas:>6} {angle:5d} {mode:>6} {len(tilted):>14d}/{len(ref):<5d} {within:>16d}/{len(ref):<5d} "
              f"{max(diffs.values()):9.3f} {sum(diffs.values()) / len(diffs):10.3f}  {off}")


if __name__ == "__main__":
    main()
