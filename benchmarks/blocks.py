"""Where a network's time goes, block by block, ours next to onnxruntime's: the per-block view behind
the ratios benchmarks/networks.py prints.

Ours: `affectd-bench bench-net --network NAME --profile` (wall time per block, fused blocks as one).
onnxruntime: its profiler's kernel time per node on the graph tools/export_onnx.py builds from the
same package. onnxruntime nodes are matched to our blocks by order — its Conv/Gemm nodes in
execution order are the manifest's conv2d/linear blocks in order, its MaxPool nodes the maxpool
blocks — which holds for chains with residual adds (EfficientNet-Lite0, MTCNN's nets) but not for
graphs whose branches onnxruntime may run in another order (mini-Xception: read its rows with care).
Both sides alternate for --rounds rounds; each block's time is its minimum over the rounds. Blocks
are grouped by name ("b12_expand" -> "b12", "separable_conv2d_1_dw" -> "separable_conv2d_1"), so a
fused block lines up with its parts.

Usage: .venv/bin/python benchmarks/blocks.py [--network efficientnet_lite0] [--batch 1]
       [--threads 1] [--iters 60] [--rounds 3] [--bin .build/release/affectd-bench]
"""
from __future__ import annotations

import argparse
import collections
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import onnxruntime as ort

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import export_onnx  # noqa: E402

PACKAGE = ROOT / "models" / "default"
ONNX_DIR = ROOT / ".cache" / "onnx"
SHAPES = {"rnet": (3, 24, 24), "onet": (3, 48, 48), "expression": (1, 64, 64), "efficientnet_lite0": (3, 224, 224)}


def group(name: str) -> str:
    """EfficientNet's "b12_expand" -> "b12"; mini-Xception's "separable_conv2d_1_dw" ->
    "separable_conv2d_1"; a fused block by its first part."""
    first = name.split("+")[0]
    if re.match(r"b\d+_", first):
        return first.split("_")[0]
    return first[: -len("_dw")] if first.endswith("_dw") else first


def ours(binary: Path, net: str, batch: int, threads: int, iters: int) -> dict[str, float]:
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
    out = subprocess.run([str(binary), "bench-net", "--model", str(PACKAGE), "--network", net, "--batch", str(batch),
                          "--threads", str(threads), "--iters", str(iters), "--profile"],
                         capture_output=True, text=True, timeout=1800, env=env)
    if out.returncode != 0:
        raise RuntimeError(f"bench-net failed: {out.stderr.strip()}")
    times: dict[str, float] = collections.defaultdict(float)
    for line in out.stderr.splitlines()[1:]:
        parts = line.split()
        if len(parts) >= 4 and parts[-1].endswith("%"):
            times[group(parts[0])] += float(parts[-2])
    return times


def onnxruntime(net: str, batch: int, threads: int, iters: int, order: list[tuple[str, str]]) -> dict[str, float]:
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.enable_profiling = True
    so.profile_file_prefix = str(Path(tempfile.gettempdir()) / "affectd_blocks")
    sess = ort.InferenceSession(str(ONNX_DIR / f"{net}.onnx"), so, providers=["CPUExecutionProvider"])
    x = np.random.default_rng(0).random((batch, *SHAPES[net]), dtype=np.float32)
    name = sess.get_inputs()[0].name
    for _ in range(iters):
        sess.run(None, {name: x})
    profile = Path(sess.end_profiling())
    events = json.loads(profile.read_text())
    profile.unlink()
    per_node: dict[str, list[float]] = collections.defaultdict(list)
    ops, seen = {}, []
    for e in events:
        if e.get("cat") == "Node" and e["name"].endswith("_kernel_time"):
            node = e["name"][: -len("_kernel_time")]
            if node not in per_node:
                seen.append(node)
            per_node[node].append(e["dur"] / 1000)
            ops[node] = e["args"].get("op_name", "")
    convs = [b for b, op in order if op in ("conv2d", "linear")]
    pools = [b for b, op in order if op == "maxpool"]
    times: dict[str, float] = collections.defaultdict(float)
    ci = pi = 0
    for node in seen:
        med = float(np.median(per_node[node]))
        if ops[node] in ("Conv", "FusedConv", "Gemm") and ci < len(convs):
            times[group(convs[ci])] += med
            ci += 1
        elif ops[node] == "MaxPool" and pi < len(pools):
            times[group(pools[pi])] += med
            pi += 1
        else:
            times[f"({ops[node]})"] += med
    if ci != len(convs):
        print(f"blocks.py: onnxruntime ran {ci} conv/gemm nodes, the manifest has {len(convs)}: rows are misaligned",
              file=sys.stderr)
    return times


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bin", default=str(ROOT / ".build" / "release" / "affectd-bench"))
    ap.add_argument("--network", default="efficientnet_lite0", choices=sorted(SHAPES))
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--iters", type=int, default=60)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    export_onnx.export(PACKAGE, ONNX_DIR)
    manifest = json.loads((PACKAGE / "manifest.json").read_text())
    order = [(b.get("name", ""), b["op"]) for b in manifest["networks"][args.network]["blocks"]]
    mine: dict[str, float] = {}
    theirs: dict[str, float] = {}
    for _ in range(args.rounds):
        for table, times in ((theirs, onnxruntime(args.network, args.batch, args.threads, args.iters, order)),
                             (mine, ours(Path(args.bin), args.network, args.batch, args.threads, args.iters))):
            for k, v in times.items():
                table[k] = min(v, table.get(k, v))
    keys = sorted(set(mine) | set(theirs), key=lambda k: -(mine.get(k, 0) - theirs.get(k, 0)))
    print(f"{args.network}, batch {args.batch}, {args.threads} thread(s), min over {args.rounds} rounds (ms)")
    print(f"{'block':<20} {'ours':>8} {'ort':>8} {'ours/ort':>8}")
    for k in keys:
        a, b = mine.get(k, 0.0), theirs.get(k, 0.0)
        print(f"{k:<20} {a:8.4f} {b:8.4f} {a / b if b else float('nan'):8.2f}")
    total_a, total_b = sum(mine.values()), sum(theirs.values())
    print(f"{'total':<20} {total_a:8.3f} {total_b:8.3f} {total_a / total_b:8.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
