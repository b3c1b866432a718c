"""Cross-checks of the sequence-block references and benchmark graphs.

The numpy references (tools/reference/sequence.py) are the ground truth of the Swift parity tests,
so they are themselves checked against an independent implementation where one exists:
onnxruntime's native LSTM and Conv. The ONNX Mamba graphs used by the benchmark are checked
against the numpy Mamba, so the benchmark compares engines computing the same function.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from onnx import TensorProto, helper

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools" / "reference"))
sys.path.insert(0, str(ROOT / "benchmarks"))
import sequence as ref  # noqa: E402
import sequence_onnx  # noqa: E402
from sequence_vectors import _lstm_weights  # noqa: E402


def _run(model, x):
    return sequence_onnx.session(model, 1).run(None, {"x": x.astype(np.float32)})[0]


@pytest.mark.parametrize("bidirectional", [False, True])
def test_numpy_lstm_matches_onnxruntime_lstm(bidirectional):
    rng = np.random.default_rng(1)
    B, T, D, H = 3, 23, 13, 11  # D: input width
    w = {k: v.astype(np.float32) for k, v in _lstm_weights(rng, D, H, 1, bidirectional).items()}
    x = rng.standard_normal((B, T, D)).astype(np.float32)
    y_ref, _, _ = ref.lstm(x, w, H, 1, bidirectional)
    y_ort = _run(sequence_onnx.lstm(w, B, T, D, H, bidirectional), x)
    assert np.abs(y_ort - y_ref).max() < 2e-6


@pytest.mark.parametrize("kernel,dilation", [(3, 1), (3, 2), (15, 4)])
def test_numpy_causal_conv_matches_onnxruntime_conv(kernel, dilation):
    rng = np.random.default_rng(2)
    B, C, Cout, T = 2, 7, 5, 40
    w = rng.standard_normal((Cout, C, kernel)).astype(np.float32)
    b = rng.standard_normal(Cout).astype(np.float32)
    x = rng.standard_normal((B, C, T)).astype(np.float32)
    node = helper.make_node("Conv", ["x", "w", "b"], ["y"], dilations=[dilation],
                            pads=[(kernel - 1) * dilation, 0], kernel_shape=[kernel])
    model = sequence_onnx._model(
        [node], [helper.make_tensor_value_info("x", TensorProto.FLOAT, [B, C, T])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [B, Cout, T])],
        [sequence_onnx._init("w", w), sequence_onnx._init("b", b)])
    y_ort = _run(model, x)
    assert np.abs(y_ort - ref.causal_conv1d(x, w, b, dilation)).max() < 1e-4


def test_weight_norm_is_unit_direction_times_g():
    rng = np.random.default_rng(3)
    v = rng.standard_normal((4, 3, 5))
    g = rng.uniform(1, 2, (4, 1, 1))
    w = ref.weight_norm(g, v)
    assert np.allclose(np.sqrt((w ** 2).sum((1, 2))), g.ravel())
    assert np.allclose(w / np.sqrt((w ** 2).sum((1, 2), keepdims=True)),
                       v / np.sqrt((v ** 2).sum((1, 2), keepdims=True)))


def test_mamba_first_step_by_hand():
    """At t=0 the state starts at zero, so h_0 = delta*B*u and the block is a closed formula."""
    rng = np.random.default_rng(4)
    dm, N, K = 10, 8, 4
    w = ref.mamba_init(rng, dm, N, K, 1)
    x = rng.standard_normal((1, 1, dm))
    xz = x[0, 0] @ w["in_proj.weight"].T
    u_pre, z = xz[:dm], xz[dm:]
    u_c = w["conv1d.weight"][:, 0, K - 1] * u_pre + w["conv1d.bias"]   # only the last tap sees t=0
    u = u_c / (1 + np.exp(-u_c))
    dbl = w["x_proj.weight"] @ u
    R = ref.mamba_dt_rank(dm)
    delta = np.log1p(np.exp(w["dt_proj.weight"] @ dbl[:R] + w["dt_proj.bias"]))
    Bv, Cv = dbl[R:R + N], dbl[R + N:]
    y = (delta * u * (Bv @ Cv) + w["D"] * u) * (z / (1 + np.exp(-z)))
    expected = w["out_proj.weight"] @ y
    assert np.abs(ref.mamba(x, w, N, K, 1)[0, 0] - expected).max() < 1e-12


@pytest.mark.parametrize("variant", ["scan", "unroll"])
def test_onnx_mamba_graph_matches_numpy_mamba(variant):
    rng = np.random.default_rng(5)
    B, L, dm, N, K, E = 2, 9, 19, 8, 4, 1
    w = {k: v.astype(np.float32) for k, v in ref.mamba_init(rng, dm, N, K, E).items()}
    x = rng.standard_normal((B, L, dm)).astype(np.float32)
    model = sequence_onnx.mamba(w, B, L, dm, N, K, E, ref.mamba_dt_rank(dm), variant)
    assert np.abs(_run(model, x) - ref.mamba(x, w, N, K, E)).max() < 1e-5
