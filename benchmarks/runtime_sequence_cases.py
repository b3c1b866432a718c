"""Sequence-block cases of benchmarks/runtime.py (ours vs onnxruntime, same weights and input).

- mamba 300x256: one Mamba block in Mamba-VA's configuration (d_model 256, d_state 8, d_conv 4,
  expand 1, dt_rank 16) on a 300-step window (Mamba-VA trains on 300-frame windows), batch 1.
- lstm 300x256: nn.LSTM(256, 256), 300 steps, batch 1.

Peer graphs: benchmarks/sequence_onnx.py. ONNX has no selective scan, so the Mamba block runs
twice on the onnxruntime side: with the recurrence as an ONNX Scan op (one subgraph call per
step) and unrolled into 300 x (Mul, Add, MatMul). Everything not recurrent (projections,
grouped causal conv, softplus, exp(delta*A), delta*B*u) is whole-sequence ops in both; both rows
are printed, and the fair comparison is against onnxruntime's faster one. The LSTM uses ONNX's
native LSTM op (gates permuted from PyTorch's i,f,g,o to ONNX's i,o,f,c).
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Callable

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tools" / "reference"))
import sequence as ref  # noqa: E402
import sequence_onnx  # noqa: E402


def _mamba(Case, rng, variant: str, steps=300, d_model=256, d_state=8, d_conv=4, expand=1):
    w = {k: v.astype(np.float32) for k, v in ref.mamba_init(rng, d_model, d_state, d_conv, expand).items()}
    x = rng.standard_normal((1, steps, d_model)).astype(np.float32)
    R, di = ref.mamba_dt_rank(d_model), expand * d_model
    macs = steps * (d_model * 2 * di + di * d_conv + di * (R + 2 * d_state) + R * di + di * d_model
                    + 3 * di * d_state)
    return Case(f"mamba {steps}x{d_model}, ort {variant}", "mamba",
                {"d_state": d_state, "d_conv": d_conv, "expand": expand, "dt_rank": R},
                {"x": x, **w, "expected.y": ref.mamba(x, w, d_state, d_conv, expand)},
                sequence_onnx.mamba(w, 1, steps, d_model, d_state, d_conv, expand, R, variant),
                {"x": x}, flops=2.0 * macs, iters=30)


def _lstm(Case, rng, steps=300, width=256, hidden=256):
    k = hidden ** -0.5
    w = {name: rng.uniform(-k, k, shape).astype(np.float32) for name, shape in [
        ("weight_ih_l0", (4 * hidden, width)), ("weight_hh_l0", (4 * hidden, hidden)),
        ("bias_ih_l0", (4 * hidden,)), ("bias_hh_l0", (4 * hidden,))]}
    x = rng.standard_normal((1, steps, width)).astype(np.float32)
    y, h, c = ref.lstm(x, w, hidden)
    return Case(f"lstm {steps}x{width} h{hidden}", "lstm", {"hidden_size": hidden, "outputs": ["y", "h_n", "c_n"]},
                {"x": x, **w, "expected.y": y, "expected.h_n": h, "expected.c_n": c},
                sequence_onnx.lstm(w, 1, steps, width, hidden), {"x": x},
                flops=2.0 * steps * 4 * hidden * (width + hidden), iters=30)


def sequence_cases(Case) -> list[Callable[[np.random.Generator], object]]:
    """Case builders for runtime.py's CASES, given its Case class."""
    return [lambda rng: _mamba(Case, rng, "scan"), lambda rng: _mamba(Case, rng, "unroll"),
            lambda rng: _lstm(Case, rng)]
