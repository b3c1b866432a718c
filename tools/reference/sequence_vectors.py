"""Fixed-seed parity vectors for the sequence blocks -> .cache/vectors/sequence/<case>.safetensors.

Sizes are chosen to break kernels that assume nice shapes: sequence lengths 1, 7 and 300, widths
that are not multiples of 8, batch 1 and 3, both LSTM directions and stacked layers, TCN dilation
1/2/4 with kernel 3 and 15 and a channel change (1x1 downsample on the residual).
Every block takes and returns time-major sequences [B, T, C] (the TemporalBlock too, unlike
torch's Conv1d [B, C, T]). Tensor names: inputs "x" (and "h0", "c0"), weights by their
PyTorch/mamba_ssm state-dict names, reference outputs "expected.y" (and "expected.h_n", "expected.c_n").
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import sequence as ref  # noqa: E402
from vectors import ROOT, save_case  # noqa: E402

SUITE = "sequence"


def _f32(a):
    """Rounds to float32 first, so the reference sees exactly the values stored in the vector."""
    return np.asarray(a, dtype=np.float32).astype(np.float64)


def _lstm_weights(rng, input_size, hidden, num_layers, bidirectional):
    """nn.LSTM's initialisation: U(-1/sqrt(H), 1/sqrt(H)) for every tensor."""
    k = hidden ** -0.5
    w = {}
    for layer in range(num_layers):
        width = input_size if layer == 0 else hidden * (2 if bidirectional else 1)
        for sfx in [""] + (["_reverse"] if bidirectional else []):
            s = f"_l{layer}{sfx}"
            w["weight_ih" + s] = rng.uniform(-k, k, (4 * hidden, width))
            w["weight_hh" + s] = rng.uniform(-k, k, (4 * hidden, hidden))
            w["bias_ih" + s] = rng.uniform(-k, k, 4 * hidden)
            w["bias_hh" + s] = rng.uniform(-k, k, 4 * hidden)
    return w


def lstm_cases(rng, root):
    # (case, B, T, D (input width), H, layers, bidirectional, with initial state)
    for case, B, T, D, H, layers, bi, state in [
        ("lstm_b1_t1_uni", 1, 1, 5, 7, 1, False, False),
        ("lstm_b3_t7_bi", 3, 7, 13, 11, 1, True, False),
        ("lstm_b3_t7_bi_2layer_state", 3, 7, 9, 6, 2, True, True),
        ("lstm_b1_t300_bi", 1, 300, 37, 29, 1, True, False),
        ("lstm_b3_t300_uni_state", 3, 300, 20, 33, 1, False, True),
    ]:
        w = {k: _f32(v) for k, v in _lstm_weights(rng, D, H, layers, bi).items()}
        x = _f32(rng.standard_normal((B, T, D)))
        dirs = 2 if bi else 1
        extra = {}
        if state:
            extra = {"h0": _f32(0.5 * rng.standard_normal((layers * dirs, B, H))),
                     "c0": _f32(0.5 * rng.standard_normal((layers * dirs, B, H)))}
        y, h_n, c_n = ref.lstm(x, w, H, layers, bi, extra.get("h0"), extra.get("c0"))
        save_case(SUITE, case, "lstm",
                  {"hidden_size": H, "num_layers": layers, "bidirectional": bi,
                   "inputs": ["x", "h0", "c0"] if state else ["x"], "outputs": ["y", "h_n", "c_n"]},
                  {"x": x, **extra, **w, "expected.y": y, "expected.h_n": h_n, "expected.c_n": c_n}, root)


def _conv(rng, out_c, in_c, k, prefix, weight_norm):
    bound = (in_c * k) ** -0.5
    v = rng.uniform(-bound, bound, (out_c, in_c, k))
    w = {prefix + ".bias": rng.uniform(-bound, bound, out_c)}
    if weight_norm:  # g deliberately not ||v|| so a kernel that ignores g fails
        g = rng.uniform(0.5, 1.5, (out_c, 1, 1)) * np.sqrt((v ** 2).sum((1, 2)))[:, None, None]
        if weight_norm == "parametrizations":   # torch.nn.utils.parametrizations.weight_norm names
            w[prefix + ".parametrizations.weight.original0"], w[prefix + ".parametrizations.weight.original1"] = g, v
        else:                                   # torch.nn.utils.weight_norm names
            w[prefix + ".weight_g"], w[prefix + ".weight_v"] = g, v
    else:
        w[prefix + ".weight"] = v
    return w


def tcn_cases(rng, root):
    # (case, B, T, Cin, Cout, kernel, dilation, weight norm)
    for case, B, T, cin, cout, k, d, wn in [
        ("tcn_b1_t7_k3_d1_same", 1, 7, 12, 12, 3, 1, False),
        ("tcn_b3_t300_k3_d2_down", 3, 300, 13, 21, 3, 2, True),
        ("tcn_b1_t300_k15_d4_down", 1, 300, 19, 10, 15, 4, True),
        ("tcn_b3_t1_k15_d4_same", 3, 1, 9, 9, 15, 4, False),
        ("tcn_b3_t7_k15_d2_down", 3, 7, 6, 11, 15, 2, False),
        ("tcn_b1_t7_k3_d4_parametrized", 1, 7, 10, 7, 3, 4, "parametrizations"),
    ]:
        w = {**_conv(rng, cout, cin, k, "conv1", wn), **_conv(rng, cout, cout, k, "conv2", wn)}
        if cin != cout:
            w.update(_conv(rng, cout, cin, 1, "downsample", False))
        w = {k: _f32(v) for k, v in w.items()}
        x = _f32(rng.standard_normal((B, cin, T)))
        y = ref.temporal_block(x, w, d)
        params = {"kernel_size": k, "dilation": d}
        if T == 300:  # im2col in chunks that straddle batch boundaries (the default is one chunk here)
            params["im2col_rows"] = 7 if B == 3 else 64
        save_case(SUITE, case, "tcn_block", params,
                  {"x": x.transpose(0, 2, 1), **w, "expected.y": y.transpose(0, 2, 1)}, root)


def mamba_cases(rng, root):
    # (case, B, T, d_model, d_state, d_conv, expand); Mamba-VA's config is d_state 8, d_conv 4, expand 1.
    for case, B, T, dm, ds, dc, ex in [
        ("mamba_b1_t1_mambava", 1, 1, 20, 8, 4, 1),
        ("mamba_b3_t7_mambava", 3, 7, 37, 8, 4, 1),
        ("mamba_b3_t300_mambava", 3, 300, 61, 8, 4, 1),
        ("mamba_b1_t300_expand2", 1, 300, 44, 16, 4, 2),
        ("mamba_b3_t7_dconv3", 3, 7, 27, 5, 3, 2),
    ]:
        w = {k: _f32(v) for k, v in ref.mamba_init(rng, dm, ds, dc, ex).items()}
        x = _f32(rng.standard_normal((B, T, dm)))
        y = ref.mamba(x, w, ds, dc, ex)
        save_case(SUITE, case, "mamba",
                  {"d_state": ds, "d_conv": dc, "expand": ex, "dt_rank": ref.mamba_dt_rank(dm)},
                  {"x": x, **w, "expected.y": y}, root)


def generate(root: Path = ROOT) -> None:
    rng = np.random.default_rng(20250303)
    lstm_cases(rng, root)
    tcn_cases(rng, root)
    mamba_cases(rng, root)


if __name__ == "__main__":
    generate()
    print(f"sequence vectors -> {ROOT / SUITE}")
