"""Tracking between detections on a horizontally panned copy of WolfgangLanger_Pexels.mp4: the frame
padded with grey to 1040x360 and a 640x360 window sliding back and forth across it at 200 px/s (the
ffmpeg CLI's pad and crop filters, x264 crf 18), so the face moves ~200 px/s. Runs `affectd analyze`
with (a) detection on every frame, (b) detection every 1/3 s with the boxes reused in between, (c)
detection every 1/3 s with the faces followed by O-Net in between (the default), alternating a, b, c
for --rounds rounds, and prints side by side: per-second valence, how many seconds (b) and (c) are
within 0.1 of (a), the boxes' mean IoU with (a)'s, and frames/s (median wall; frames per CPU-second,
the steadier figure on a shared machine).

Usage: .venv/bin/python benchmarks/tracking.py [--bin .build/release/affectd] [--fps all] [--rounds 3]
"""
from __future__ import annotations

import argparse
import collections
import json
import re
import statistics
import subprocess
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CLIP = ROOT / ".cache" / "testdata" / "feat" / "WolfgangLanger_Pexels.mp4"
# The window's left edge runs 110 -> 510 -> 110 px (a triangle wave, 200 px/s) over the padded frame.
PAN = "pad=1040:360:200:0:color=gray,crop=640:360:'110+abs(mod(200*t,800)-400)':0"
CONFIGS = {
    "a": ("detection on every frame", ["--detect-interval", "0"]),
    "b": ("boxes reused for 1/3 s", ["--between-detections", "reuse"]),
    "c": ("faces followed for 1/3 s", ["--between-detections", "track"]),
}


def make_panned(source: Path, out: Path, seconds: float | None = None) -> None:
    limit = ["-t", str(seconds)] if seconds else []
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-i", str(source), *limit, "-vf", PAN, "-an",
                    "-c:v", "libx264", "-crf", "18", str(out)], check=True)


def analyze(binary: str, clip: Path, fps: str, extra: list[str]) -> tuple[dict, dict]:
    out = subprocess.run([binary, "analyze", str(clip), "--fps", fps, "--timings", *extra],
                         capture_output=True, text=True, check=True, cwd=ROOT)
    timings = json.loads(re.search(r"^timings-json: (.*)$", out.stderr, re.M).group(1))
    return json.loads(out.stdout), timings


def per_second(result: dict) -> dict[int, float]:
    seconds = collections.defaultdict(list)
    for frame in result["frames"]:
        for face in frame["faces"][:1]:
            if face["valence"] is not None:
                seconds[int(frame["t"])].append(face["valence"])
    return {s: sum(v) / len(v) for s, v in seconds.items()}


def iou(a: list[float], b: list[float]) -> float:
    w = max(0.0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    inter = w * h
    return inter / (a[2] * a[3] + b[2] * b[3] - inter)


def box_agreement(result: dict, reference: dict) -> tuple[float, float]:
    """Mean and minimum IoU of the first face's box with the reference's, over frames where both have one."""
    ref = {f["t"]: f["faces"][0]["box"] for f in reference["frames"] if f["faces"]}
    ious = [iou(f["faces"][0]["box"], ref[f["t"]]) for f in result["frames"] if f["faces"] and f["t"] in ref]
    return sum(ious) / len(ious), min(ious)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bin", default=str(ROOT / ".build" / "release" / "affectd"))
    ap.add_argument("--fps", default="all", help="sampling rate passed to affectd analyze ('all' or a rate)")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    with open("/proc/loadavg") as f:
        print(f"load average at start: {' '.join(f.read().split()[:3])} (2 shared cores: wall times are noisy, "
              "frames per CPU-second steadier)")
    with tempfile.TemporaryDirectory() as tmp:
        clip = Path(tmp) / "panned.mp4"
        make_panned(CLIP, clip)
        results, walls, cpus = {}, collections.defaultdict(list), collections.defaultdict(list)
        for _ in range(args.rounds):
            for key, (_, extra) in CONFIGS.items():
                results[key], t = analyze(args.bin, clip, args.fps, extra)
                walls[key].append(t["frames_analyzed"] / t["total_wall"])
                cpus[key].append(t["frames_analyzed"] / t["total_cpu"])
    seconds = {k: per_second(r) for k, r in results.items()}
    ref = seconds["a"]
    print(f"\npanned copy ({PAN}), --fps {args.fps}: per-second valence of the first face")
    print(f"{'s':>3} " + " ".join(f"{'(' + k + ')':>8}" for k in CONFIGS) + f" {'|b-a|':>7} {'|c-a|':>7}")
    for s in sorted(set().union(*seconds.values())):
        vals = [seconds[k].get(s) for k in CONFIGS]
        cells = " ".join(f"{v:8.3f}" if v is not None else f"{'-':>8}" for v in vals)
        diffs = " ".join(f"{abs(seconds[k][s] - ref[s]):7.3f}" if s in ref and s in seconds[k] else f"{'-':>7}"
                         for k in "bc")
        print(f"{s:3d} {cells} {diffs}")
    print(f"\n{'configuration':34} {'seconds with a face':>19} {'within 0.1 of (a)':>18} "
          f"{'box IoU vs (a) mean/min':>24} {'frames/s':>9} {'x (a)':>6} {'fr/CPU-s':>9} {'x (a)':>6}")
    fa, ca = statistics.median(walls["a"]), statistics.median(cpus["a"])
    for key, (label, _) in CONFIGS.items():
        within = sum(1 for s in ref if s in seconds[key] and abs(seconds[key][s] - ref[s]) <= 0.1)
        mean_iou, min_iou = box_agreement(results[key], results["a"])
        fw, fc = statistics.median(walls[key]), statistics.median(cpus[key])
        print(f"({key}) {label:29} {len(seconds[key]):>12d}/{len(ref):<6d} {within:>11d}/{len(ref):<6d} "
              f"{mean_iou:>15.3f}/{min_iou:.3f} {fw:>9.1f} {fw / fa:>6.2f} {fc:>9.1f} {fc / ca:>6.2f}")
    spread = ", ".join(f"({k}) {min(walls[k]):.0f}-{max(walls[k]):.0f}" for k in CONFIGS)
    print(f"(frames/s: median of {args.rounds} alternating rounds; spread {spread})")


if __name__ == "__main__":
    main()
