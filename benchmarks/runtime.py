"""Neural-engine layers, ours vs onnxruntime, in one run: same layers, same weights, same inputs.

For every case and thread count it writes the case file (vector format: op, params, NHWC input,
PyTorch-layout weights, numpy reference output), times it with `affectd-bench bench-op` (which also
reports its max error against the reference) and times the same layer as an ONNX graph (built
with onnx.helper, NCHW, onnxruntime's native layout) in onnxruntime with the same thread count.
Prints medians and ours/onnxruntime ratios (< 1 means we are faster).

Usage: .venv/bin/python benchmarks/runtime.py [--bin .build/release/affectd-bench] [--threads 1 2]
       [--only NAME ...] [--scale 1.0]
Adding a case: write a builder `def my_case(rng) -> Case` and append it to CASES (end of the
"Cases" section). OpenBLAS: when the CPU has AVX-512 and OPENBLAS_CORETYPE is unset, ours runs
with OPENBLAS_CORETYPE=SkylakeX (OpenBLAS 0.3.21 would pick its AVX2 Haswell kernels on Zen 4/5);
the core name it used is printed.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
sys.path.insert(0, str(ROOT / "tools" / "reference"))
import kernels as K  # noqa: E402
import safetensors_io  # noqa: E402

CASE_DIR = ROOT / ".cache" / "bench"
OPSET = 17


@dataclass
class Case:
    name: str
    op: str                      # our op (registry name)
    params: dict                 # our op's params
    tensors: dict                # our case file: "x" (or x0..), weights, "expected.y"
    model: onnx.ModelProto       # the same layer for onnxruntime
    feeds: dict                  # onnxruntime inputs
    flops: float = 0.0           # multiply-adds x 2, for GFLOP/s
    iters: int = 50
    extra: dict = field(default_factory=dict)


def onnx_model(nodes, inputs, outputs, inits) -> onnx.ModelProto:
    graph = helper.make_graph(nodes, "g", inputs, outputs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def f32(a):
    return np.ascontiguousarray(a, dtype=np.float32)


def value(name, shape):
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, list(shape))


# ---------------------------------------------------------------------------------------------
# Cases

def conv_case(rng, name, n, cin, h, w, cout, k, stride, pad, groups=1, iters=50) -> Case:
    x = f32(rng.standard_normal((n, cin, h, w)))
    wt = f32(rng.standard_normal((cout, cin // groups, k, k)) / np.sqrt(cin // groups * k * k))
    b = f32(rng.normal(0, 0.1, cout))
    pads = (pad, pad, pad, pad)
    y = K.conv2d(x.astype(np.float64), wt.astype(np.float64), b.astype(np.float64), (stride, stride), pads, (1, 1),
                 groups)
    oh, ow = y.shape[2], y.shape[3]
    model = onnx_model(
        [helper.make_node("Conv", ["x", "w", "b"], ["y"], kernel_shape=[k, k], strides=[stride, stride],
                          pads=[pad, pad, pad, pad], group=groups)],
        [value("x", x.shape)], [value("y", (n, cout, oh, ow))],
        [numpy_helper.from_array(wt, "w"), numpy_helper.from_array(b, "b")])
    return Case(name, "conv2d", {"stride": stride, "pad": pad, "groups": groups},
                {"x": x.transpose(0, 2, 3, 1), "weight": wt, "bias": b, "expected.y": y.transpose(0, 2, 3, 1)},
                model, {"x": x}, flops=2.0 * n * oh * ow * cout * (cin // groups) * k * k, iters=iters)


def conv3x3_32_64_112(rng):
    return conv_case(rng, "conv3x3 32->64 112x112", 1, 32, 112, 112, 64, 3, 1, 1, iters=30)


def conv1x1_96_24_56(rng):
    return conv_case(rng, "conv1x1 96->24 56x56", 1, 96, 56, 56, 24, 1, 1, 0, iters=100)


def depthwise3x3_112_32(rng):
    return conv_case(rng, "depthwise3x3 112x112x32", 1, 32, 112, 112, 32, 3, 1, 1, groups=32, iters=100)


def linear_1280_512_b8(rng):
    x = f32(rng.standard_normal((8, 1280)))
    wt = f32(rng.standard_normal((512, 1280)) / np.sqrt(1280))
    b = f32(rng.normal(0, 0.1, 512))
    y = K.linear(x.astype(np.float64), wt.astype(np.float64), b.astype(np.float64))
    model = onnx_model([helper.make_node("Gemm", ["x", "w", "b"], ["y"], transB=1)],
                       [value("x", x.shape)], [value("y", (8, 512))],
                       [numpy_helper.from_array(wt, "w"), numpy_helper.from_array(b, "b")])
    return Case("linear 1280->512 batch 8", "linear", {}, {"x": x, "weight": wt, "bias": b, "expected.y": y},
                model, {"x": x}, flops=2.0 * 8 * 1280 * 512, iters=200)


# Append further builders (e.g. the sequence blocks: Mamba 300x256, LSTM 300x256) to this list.
CASES: list[Callable[[np.random.Generator], Case]] = [
    conv3x3_32_64_112,
    conv1x1_96_24_56,
    depthwise3x3_112_32,
    linear_1280_512_b8,
]
from runtime_sequence_cases import sequence_cases  # noqa: E402  (Mamba and LSTM; see that file)
CASES += sequence_cases(Case)


# ---------------------------------------------------------------------------------------------
# Runners

def ours_env() -> dict:
    env = dict(os.environ)
    # The engine keeps OpenBLAS single-threaded (docs/engine.md); saying so before the library
    # loads also stops the worker thread OpenBLAS starts at load from spinning through short runs.
    env.setdefault("OPENBLAS_NUM_THREADS", "1")
    if "OPENBLAS_CORETYPE" not in env:
        try:
            if " avx512f" in Path("/proc/cpuinfo").read_text():
                env["OPENBLAS_CORETYPE"] = "SkylakeX"
        except OSError:
            pass
    return env


def run_ours(binary: Path, path: Path, threads: int, iters: int) -> dict:
    out = subprocess.run([str(binary), "bench-op", "--case", str(path), "--threads", str(threads),
                          "--iters", str(iters)], capture_output=True, text=True, env=ours_env(), timeout=600)
    if out.returncode != 0:
        raise RuntimeError(f"bench-op failed on {path}: {out.stderr.strip()}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def run_ort(case: Case, threads: int, iters: int) -> tuple[float, float, np.ndarray]:
    """Median wall ms, median process-CPU ms (all threads) per run, and the output."""
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    sess = ort.InferenceSession(case.model.SerializeToString(), so, providers=["CPUExecutionProvider"])
    out = None
    for _ in range(5):
        out = sess.run(None, case.feeds)
    times, cpu = [], []
    for _ in range(iters):
        c0, t0 = time.process_time(), time.perf_counter()
        sess.run(None, case.feeds)
        times.append((time.perf_counter() - t0) * 1000)
        cpu.append((time.process_time() - c0) * 1000)
    return statistics.median(times), statistics.median(cpu), out[0]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bin", default=str(ROOT / ".build" / "release" / "affectd-bench"))
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--only", nargs="*", help="substrings of case names to run")
    ap.add_argument("--scale", type=float, default=1.0, help="multiplies every case's iteration count")
    args = ap.parse_args()
    binary = Path(args.bin)
    if not binary.exists():
        print(f"runtime.py: {binary} missing: build it first (make build)", file=sys.stderr)
        return 1
    rng = np.random.default_rng(7)
    CASE_DIR.mkdir(parents=True, exist_ok=True)
    print(f"onnxruntime {ort.__version__}; cores {os.cpu_count()}; "
          f"OPENBLAS_CORETYPE={ours_env().get('OPENBLAS_CORETYPE', '(unset)')}")
    # Wall-clock medians decide the ratio; CPU-time medians (all threads of the process) are shown
    # too because on a busy machine wall time includes waiting for a core.
    header = (f"{'case':<28} {'thr':>3} {'ours ms':>9} {'ort ms':>9} {'ours/ort':>8} {'ours GF/s':>9} {'ort GF/s':>8} "
              f"{'ours cpu':>9} {'ort cpu':>9} {'cpu ratio':>9} {'max err':>8}")
    print(header)
    print("-" * len(header))
    rows = []
    for build in CASES:
        case = build(rng)
        if args.only and not any(s in case.name for s in args.only):
            continue
        path = CASE_DIR / (case.name.replace(" ", "_").replace(">", "").replace("-", "_") + ".safetensors")
        safetensors_io.save(path, {k: f32(v) for k, v in case.tensors.items()},
                            {"op": case.op, "params": json.dumps(case.params, sort_keys=True)})
        iters = max(5, int(case.iters * args.scale))
        for threads in args.threads:
            ours = run_ours(binary, path, threads, iters)
            ort_ms, ort_cpu, ort_y = run_ort(case, threads, iters)
            ref = case.tensors.get("expected.y")
            if ref is not None:  # same function on both sides: onnxruntime vs the numpy reference
                ort_nhwc = ort_y.transpose(0, 2, 3, 1) if ort_y.ndim == 4 else ort_y
                ort_err = float(np.max(np.abs(ort_nhwc - ref)))
                assert ort_err < 1e-3, f"{case.name}: onnxruntime differs from the reference by {ort_err}"
            ratio = ours["median_ms"] / ort_ms
            gf = lambda ms: case.flops / (ms * 1e6) if case.flops else float("nan")  # noqa: E731
            err = ours.get("max_err", float("nan"))
            ours_cpu = ours.get("median_cpu_ms", float("nan"))
            print(f"{case.name:<28} {threads:>3} {ours['median_ms']:>9.4f} {ort_ms:>9.4f} {ratio:>8.2f} "
                  f"{gf(ours['median_ms']):>9.1f} {gf(ort_ms):>8.1f} {ours_cpu:>9.4f} {ort_cpu:>9.4f} "
                  f"{ours_cpu / ort_cpu if ort_cpu > 0 else float('nan'):>9.2f} {err:>8.1e}", flush=True)
            rows.append({"case": case.name, "threads": threads, "ours_ms": ours["median_ms"], "ort_ms": ort_ms,
                         "ours_cpu_ms": ours_cpu, "ort_cpu_ms": ort_cpu,
                         "ratio": ratio, "corename": ours.get("corename"), "max_err": err})
    if rows:
        print(f"OpenBLAS core (ours): {rows[0]['corename']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
