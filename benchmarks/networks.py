"""The default package's networks, ours vs onnxruntime, in one run: same weights, same input sizes.

For each network (P-Net on every pyramid level of a 640x360 frame, R-Net 24x24, O-Net 48x48,
mini-Xception 64x64x1, EfficientNet-Lite0 224x224x3), batch 1 and 8, 1 and 2 threads: our engine
through `affectd-bench bench-net`, onnxruntime on the graphs tools/export_onnx.py builds from the same
package (their outputs are first checked against the parity vectors when those exist). Then full
MTCNN detection ms/frame on WolfgangLanger_Pexels.mp4 (`affectd-bench bench-net --network mtcnn`, every
stage) next to onnxruntime's P-Net pyramid alone (a lower bound for an onnxruntime MTCNN). Each
row alternates ours and onnxruntime for --rounds rounds and prints the medians and the median of
the per-round ours/onnxruntime ratios (< 1: we are faster).

Usage: .venv/bin/python benchmarks/networks.py [--bin .build/release/affectd-bench] [--threads 1 2]
       [--batch 1 8] [--only pnet ...] [--scale 1.0] [--rounds 3]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
sys.path.insert(0, str(ROOT / "tools" / "reference"))
import export_onnx  # noqa: E402
import safetensors_io  # noqa: E402

PACKAGE = ROOT / "models" / "default"
ONNX_DIR = ROOT / ".cache" / "onnx"
VECTORS = ROOT / ".cache" / "vectors" / "vision"
CLIP = ROOT / ".cache" / "testdata" / "feat" / "WolfgangLanger_Pexels.mp4"
# network -> (per-image NCHW input shape(s), timed iterations at batch 1)
NETWORKS = {
    "pnet": (None, 20),
    "rnet": ((3, 24, 24), 300),
    "onet": ((3, 48, 48), 200),
    "expression": ((1, 64, 64), 200),
    "efficientnet_lite0": ((3, 224, 224), 20),
}


def pyramid(w=640, h=360, min_face=20, factor=0.709):
    """The P-Net level sizes (h, w) of a frame, as facenet-pytorch computes them."""
    m = 12.0 / min_face
    minl, s, out = min(h, w) * m, m, []
    while minl >= 12:
        out.append((int(h * s + 1), int(w * s + 1)))
        s *= factor
        minl *= factor
    return out


def session(path: Path, threads: int) -> ort.InferenceSession:
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])


def time_ort(sess, feeds_list, iters) -> float:
    name = sess.get_inputs()[0].name
    for _ in range(3):
        for x in feeds_list:
            sess.run(None, {name: x})
    times = []
    for _ in range(iters):
        t0 = time.perf_counter()
        for x in feeds_list:
            sess.run(None, {name: x})
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def check_ort(net: str, sess) -> str:
    """Max |onnxruntime - numpy reference| on the real-input parity vectors, if present."""
    worst, seen = 0.0, False
    for path in sorted(VECTORS.glob(f"net_{net}_*.safetensors")):
        t, _ = safetensors_io.load(path)
        outs = sess.run(None, {sess.get_inputs()[0].name: t["x"].transpose(0, 3, 1, 2).copy()})
        for o, meta in zip(outs, sess.get_outputs()):
            ref = t.get("expected." + meta.name)
            if ref is None:
                continue
            o = o.transpose(0, 2, 3, 1) if o.ndim == 4 else o
            worst, seen = max(worst, float(np.max(np.abs(o - ref)))), True
    return f"{worst:.1e}" if seen else "n/a"


def ours(binary: Path, args: list[str]) -> dict:
    # OpenBLAS single-threaded from load on (docs/engine.md): its load-time worker otherwise spins
    # through the first milliseconds of a short run.
    env = {**os.environ, "OPENBLAS_NUM_THREADS": os.environ.get("OPENBLAS_NUM_THREADS", "1")}
    out = subprocess.run([str(binary), "bench-net", "--model", str(PACKAGE), *args], capture_output=True, text=True,
                         timeout=1800, env=env)
    if out.returncode != 0:
        raise RuntimeError(f"bench-net {' '.join(args)} failed: {out.stderr.strip()}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bin", default=str(ROOT / ".build" / "release" / "affectd-bench"))
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--batch", type=int, nargs="+", default=[1, 8])
    ap.add_argument("--only", nargs="*", help="networks to run (pnet rnet onet expression efficientnet_lite0 mtcnn)")
    ap.add_argument("--scale", type=float, default=1.0, help="multiplies every iteration count")
    ap.add_argument("--frames", type=int, default=60, help="frames of the clip for the detector timing")
    ap.add_argument("--rounds", type=int, default=3, help="alternating ours/onnxruntime rounds per row (median ratio)")
    args = ap.parse_args()
    binary = Path(args.bin)
    if not binary.exists():
        print(f"networks.py: {binary} missing: build it first (make build)", file=sys.stderr)
        return 1
    if not (PACKAGE / "manifest.json").is_file():
        print(f"networks.py: no model package at {PACKAGE}: run `make setup`", file=sys.stderr)
        return 1
    export_onnx.export(PACKAGE, ONNX_DIR)
    tile = ours(binary, ["--network", "rnet", "--iters", "1"]).get("gemm_tile", "?")
    print(f"onnxruntime {ort.__version__}; our GEMM tile {tile}; cores {os.cpu_count()}; "
          f"load average {os.getloadavg()[0]:.1f} (a busy machine makes both sides slower and noisier)")
    header = f"{'network':<20} {'batch':>5} {'thr':>3} {'ours ms':>9} {'ort ms':>9} {'ours/ort':>8} {'ort err':>8}"
    print(header)
    print("-" * len(header))
    rng = np.random.default_rng(3)
    rows = []
    for net, (shape, iters) in NETWORKS.items():
        if args.only and net not in args.only:
            continue
        for batch in args.batch:
            n_iter = max(5, int(iters * args.scale / (batch if net != "pnet" else 1)))
            if shape is None:
                feeds = [rng.uniform(-1, 1, (batch, 3, h, w)).astype(np.float32) for h, w in pyramid()]
            else:
                feeds = [rng.uniform(-1, 1, (batch, *shape)).astype(np.float32)]
            for threads in args.threads:
                sess = session(ONNX_DIR / f"{net}.onnx", threads)
                # Alternate the two sides for several rounds: on a shared VM the speed of the whole
                # machine drifts by tens of percent over minutes; each round's ratio sees one speed.
                rounds = []
                for _ in range(args.rounds):
                    o = ours(binary, ["--network", net, "--batch", str(batch), "--threads", str(threads),
                                      "--iters", str(n_iter)])
                    rounds.append((o["median_ms"], time_ort(sess, feeds, n_iter)))
                ours_ms = statistics.median(r[0] for r in rounds)
                ort_ms = statistics.median(r[1] for r in rounds)
                ratio = statistics.median(r[0] / r[1] for r in rounds)
                err = check_ort(net, sess)
                label = net + (" (9 levels)" if net == "pnet" else "")
                print(f"{label:<20} {batch:>5} {threads:>3} {ours_ms:>9.3f} {ort_ms:>9.3f} {ratio:>8.2f} {err:>8}",
                      flush=True)
                rows.append((net, batch, threads, ours_ms, ort_ms, ratio))
    if not args.only or "mtcnn" in args.only:
        # The detector's peer is onnxruntime's P-Net over the same 640x360 pyramid ALONE: a lower
        # bound for any onnxruntime-based MTCNN (it leaves out R-Net, O-Net, resampling and NMS).
        if not CLIP.is_file():
            print(f"networks.py: {CLIP} missing: run `make setup`", file=sys.stderr)
            return 1
        feeds = [rng.uniform(-1, 1, (1, 3, h, w)).astype(np.float32) for h, w in pyramid()]
        for threads in args.threads:
            o = ours(binary, ["--network", "mtcnn", "--media", str(CLIP), "--frames", str(args.frames),
                              "--threads", str(threads)])
            pnet_ms = time_ort(session(ONNX_DIR / "pnet.onnx", threads), feeds, max(5, int(20 * args.scale)))
            print(f"{'MTCNN detect/frame':<20} {1:>5} {threads:>3} {o['median_ms']:>9.3f} {pnet_ms:>9.3f} "
                  f"{o['median_ms'] / pnet_ms:>8.2f} "
                  f"{'':>8} (ours: full detector, {o['frames']:.0f} frames of {CLIP.name}, {o['faces']:.0f} faces, "
                  f"mean {o['mean_ms']:.1f} ms; onnxruntime: P-Net pyramid only)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
