"""Sequence-block cases of the runtime benchmark (benchmarks/runtime.py): affectd's engine vs
onnxruntime on the same weights and input, at 1 and 2 threads.

- mamba_300x256: one Mamba block, Mamba-VA's configuration (d_model 256, d_state 8, d_conv 4,
  expand 1, dt_rank 16) on a 300-step window (Mamba-VA trains on 300-frame windows).
- lstm_300x256: nn.LSTM(256, 256) on 300 steps (batch 1).

Peer graphs: benchmarks/sequence_onnx.py. ONNX has no selective scan, so onnxruntime runs the
Mamba block's recurrence either as a Scan op (a subgraph call per step) or unrolled into
300 x (Mul, Add, MatMul); both are measured and the peer is credited with its faster one (the
non-recurrent parts are whole-sequence ops in both). LSTM is ONNX's native fused LSTM op.
Each case is also a parity vector (op, params, tensors in the .cache/vectors format), so the
engine side runs exactly the registry op that tests/TensorTests checked.
"""
from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tools" / "reference"))
import sequence as ref  # noqa: E402
import sequence_onnx  # noqa: E402
from vectors import ROOT, save_case  # noqa: E402

SUITE = "bench-sequence"


@dataclass
class Case:
    name: str
    op: str
    params: dict
    tensors: dict            # runtime input "x" + weights (state-dict names)
    flops: float             # multiply-adds x 2 of the block, for GFLOP/s
    peers: dict[str, Callable[[], object]] = field(default_factory=dict)   # variant -> onnx model builder
    note: str = ""

    def write(self, root: Path = ROOT) -> Path:
        """The case as a vector file (with the numpy reference output, so the engine run is checked)."""
        return save_case(SUITE, self.name, self.op, self.params, self.tensors, root)


def mamba_case(steps=300, d_model=256, d_state=8, d_conv=4, expand=1, seed=7) -> Case:
    rng = np.random.default_rng(seed)
    w = {k: v.astype(np.float32) for k, v in ref.mamba_init(rng, d_model, d_state, d_conv, expand).items()}
    x = rng.standard_normal((1, steps, d_model)).astype(np.float32)
    R, di = ref.mamba_dt_rank(d_model), expand * d_model
    flops = 2 * steps * (d_model * 2 * di + di * d_conv + di * (R + 2 * d_state) + R * di + di * d_model
                         + 3 * di * d_state)
    return Case(
        name=f"mamba_{steps}x{d_model}", op="mamba",
        params={"d_state": d_state, "d_conv": d_conv, "expand": expand, "dt_rank": R},
        tensors={"x": x, **w, "expected.y": ref.mamba(x, w, d_state, d_conv, expand)}, flops=flops,
        peers={v: (lambda v=v: sequence_onnx.mamba(w, 1, steps, d_model, d_state, d_conv, expand, R, v))
               for v in ("scan", "unroll")},
        note="onnxruntime: selective scan as ONNX Scan or unrolled primitives (its faster one counts)")


def lstm_case(steps=300, width=256, hidden=256, seed=8) -> Case:
    rng = np.random.default_rng(seed)
    k = hidden ** -0.5
    w = {name: rng.uniform(-k, k, shape).astype(np.float32) for name, shape in [
        ("weight_ih_l0", (4 * hidden, width)), ("weight_hh_l0", (4 * hidden, hidden)),
        ("bias_ih_l0", (4 * hidden,)), ("bias_hh_l0", (4 * hidden,))]}
    x = rng.standard_normal((1, steps, width)).astype(np.float32)
    y, h, c = ref.lstm(x, w, hidden)
    return Case(
        name=f"lstm_{steps}x{width}", op="lstm",
        params={"hidden_size": hidden, "outputs": ["y", "h_n", "c_n"]},
        tensors={"x": x, **w, "expected.y": y, "expected.h_n": h, "expected.c_n": c},
        flops=2 * steps * 4 * hidden * (width + hidden),
        peers={"lstm_op": lambda: sequence_onnx.lstm(w, 1, steps, width, hidden)},
        note="onnxruntime: native LSTM op")


CASES: list[Callable[[], Case]] = [mamba_case, lstm_case]


def time_ms(fn, warmup: int, iterations: int) -> list[float]:
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(iterations):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1e3)
    return sorted(out)


def onnxruntime_ms(case: Case, threads: int, warmup=5, iterations=30) -> tuple[str, list[float]]:
    """The peer's fastest variant: (variant, sorted per-run milliseconds). Checks its output first."""
    best = None
    x = case.tensors["x"]
    for variant, build in case.peers.items():
        sess = sequence_onnx.session(build(), threads)
        y = sess.run(None, {"x": x})[0]
        err = float(np.abs(y - case.tensors["expected.y"]).max())
        if err > 1e-4:
            raise AssertionError(f"{case.name}/{variant}: onnxruntime differs from numpy by {err}")
        times = time_ms(lambda: sess.run(None, {"x": x}), warmup, iterations)
        if best is None or np.median(times) < np.median(best[1]):
            best = (variant, times)
    return best


if __name__ == "__main__":
    # Peer side alone (the engine side comes from runtime.py through `affectd bench-op`).
    for make in CASES:
        case = make()
        print(f"{case.name}: {case.write()}  ({case.flops / 1e6:.0f} MFLOP)")
        for threads in (1, 2):
            for variant in case.peers:
                sess = sequence_onnx.session(case.peers[variant](), threads)
                t = time_ms(lambda: sess.run(None, {"x": case.tensors["x"]}), 5, 30)
                print(f"  onnxruntime {variant:8s} threads {threads}: median {np.median(t):7.3f} ms  "
                      f"min {t[0]:7.3f} ms")
