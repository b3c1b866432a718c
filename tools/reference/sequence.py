"""Numpy references for the sequence blocks: LSTM, TCN TemporalBlock, Mamba block.

Written from the definitions, in float64, independently of the Swift kernels:
- LSTM: PyTorch nn.LSTM documentation (gate order i, f, g, o; two biases; reverse direction reads
  the sequence backwards and its outputs are concatenated after the forward ones).
- TemporalBlock: the TCN of Bai, Kolter & Koltun 2018 (locuslab/TCN), used by Mamba-VA: two
  dilated causal Conv1d (left zero padding (k-1)*d, i.e. Conv1d + Chomp1d), each followed by ReLU
  (dropout is identity at inference), a 1x1 downsample on the residual when channels differ, ReLU
  after the add. Convolutions may be weight-normalised: w = g * v / ||v|| per output channel.
- Mamba: mamba_ssm's Mamba module (slow path) with selective_scan_ref semantics
  (Gu & Dao 2023, Algorithm 2 with ZOH on A and the Euler step on B).

Layouts: LSTM and Mamba take x as [B, T, C] (batch first); the TemporalBlock takes [B, C, T]
like torch.nn.Conv1d. Weights carry PyTorch/mamba_ssm state-dict names.
"""
from __future__ import annotations

import math

import numpy as np


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _softplus(x: np.ndarray) -> np.ndarray:
    return np.logaddexp(0.0, x)


def _silu(x: np.ndarray) -> np.ndarray:
    return x * _sigmoid(x)


def _f64(w: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {k: np.asarray(v, dtype=np.float64) for k, v in w.items()}


# ---------------------------------------------------------------------------------------- LSTM

def lstm(x: np.ndarray, w: dict[str, np.ndarray], hidden: int, num_layers: int = 1,
         bidirectional: bool = False, h0: np.ndarray | None = None, c0: np.ndarray | None = None):
    """nn.LSTM(batch_first=True). x [B, T, I]; h0, c0 [layers*dirs, B, H] (zeros if None).

    Returns y [B, T, dirs*H], h_n and c_n [layers*dirs, B, H].
    """
    w = _f64(w)
    x = np.asarray(x, dtype=np.float64)
    B, T, _ = x.shape
    dirs = 2 if bidirectional else 1
    if h0 is None:
        h0 = np.zeros((num_layers * dirs, B, hidden))
    if c0 is None:
        c0 = np.zeros((num_layers * dirs, B, hidden))
    h_n, c_n = [], []
    layer_in = x
    for layer in range(num_layers):
        outs = []
        for d in range(dirs):
            sfx = f"_l{layer}" + ("_reverse" if d == 1 else "")
            w_ih, w_hh = w["weight_ih" + sfx], w["weight_hh" + sfx]
            b = w["bias_ih" + sfx] + w["bias_hh" + sfx]
            h = np.array(h0[layer * dirs + d], dtype=np.float64)
            c = np.array(c0[layer * dirs + d], dtype=np.float64)
            out = np.zeros((B, T, hidden))
            steps = range(T - 1, -1, -1) if d == 1 else range(T)
            for t in steps:
                gates = layer_in[:, t] @ w_ih.T + h @ w_hh.T + b
                i, f, g, o = np.split(gates, 4, axis=1)
                c = _sigmoid(f) * c + _sigmoid(i) * np.tanh(g)
                h = _sigmoid(o) * np.tanh(c)
                out[:, t] = h
            outs.append(out)
            h_n.append(h)
            c_n.append(c)
        layer_in = np.concatenate(outs, axis=2)
    return layer_in, np.stack(h_n), np.stack(c_n)


# ------------------------------------------------------------------------------- TemporalBlock

def weight_norm(g: np.ndarray, v: np.ndarray) -> np.ndarray:
    """torch.nn.utils.weight_norm(dim=0): w = g * v / ||v||, the norm over all dims but the first."""
    g = np.asarray(g, dtype=np.float64)
    v = np.asarray(v, dtype=np.float64)
    norm = np.sqrt((v.reshape(v.shape[0], -1) ** 2).sum(axis=1))
    return g.reshape(-1, *([1] * (v.ndim - 1))) * v / norm.reshape(-1, *([1] * (v.ndim - 1)))


def conv_weight(w: dict[str, np.ndarray], name: str) -> np.ndarray:
    """The effective weight of conv `name`: plain `.weight`, or weight norm as `.weight_g`/`.weight_v`
    (torch.nn.utils.weight_norm) or `.parametrizations.weight.original0/1` (its parametrize form)."""
    if name + ".weight" in w:
        return np.asarray(w[name + ".weight"], dtype=np.float64)
    if name + ".weight_g" in w:
        return weight_norm(w[name + ".weight_g"], w[name + ".weight_v"])
    p = name + ".parametrizations.weight."
    return weight_norm(w[p + "original0"], w[p + "original1"])


def causal_conv1d(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None, dilation: int = 1,
                  groups: int = 1) -> np.ndarray:
    """y[b, o, t] = bias[o] + sum_{c,k} w[o, c, k] * x[b, c, t - (K-1-k)*dilation] (zero before t=0)."""
    B, C, T = x.shape
    Cout, Cg, K = weight.shape
    pad = (K - 1) * dilation
    xp = np.concatenate([np.zeros((B, C, pad)), x], axis=2)
    y = np.zeros((B, Cout, T))
    og = Cout // groups
    for o in range(Cout):
        grp = o // og
        for k in range(K):
            window = xp[:, grp * Cg:(grp + 1) * Cg, k * dilation:k * dilation + T]  # [B, Cg, T]
            y[:, o] += np.einsum("c,bct->bt", weight[o, :, k], window)
    if bias is not None:
        y += np.asarray(bias, dtype=np.float64)[None, :, None]
    return y


def temporal_block(x: np.ndarray, w: dict[str, np.ndarray], dilation: int) -> np.ndarray:
    """locuslab TemporalBlock at inference. x [B, Cin, T] -> [B, Cout, T]."""
    x = np.asarray(x, dtype=np.float64)
    h = np.maximum(causal_conv1d(x, conv_weight(w, "conv1"), w["conv1.bias"], dilation), 0.0)
    h = np.maximum(causal_conv1d(h, conv_weight(w, "conv2"), w["conv2.bias"], dilation), 0.0)
    res = x
    if "downsample.weight" in w:
        res = causal_conv1d(x, np.asarray(w["downsample.weight"], np.float64), w["downsample.bias"])
    return np.maximum(h + res, 0.0)


# --------------------------------------------------------------------------------------- Mamba

def mamba_dt_rank(d_model: int) -> int:
    return math.ceil(d_model / 16)


def selective_scan(u, delta, A, Bm, Cm, D, z, delta_bias):
    """selective_scan_ref with delta_softplus=True. u, delta, z [B, Di, L]; A [Di, N];
    Bm, Cm [B, N, L]; D, delta_bias [Di]. Returns [B, Di, L]."""
    delta = _softplus(delta + delta_bias[None, :, None])
    Bsz, Di, L = u.shape
    state = np.zeros((Bsz, Di, A.shape[1]))
    ys = np.zeros((Bsz, Di, L))
    for t in range(L):
        dA = np.exp(delta[:, :, t, None] * A[None])                               # [B, Di, N]
        dBu = delta[:, :, t, None] * Bm[:, None, :, t] * u[:, :, t, None]          # [B, Di, N]
        state = dA * state + dBu
        ys[:, :, t] = np.einsum("bdn,bn->bd", state, Cm[:, :, t])
    return (ys + u * D[None, :, None]) * _silu(z)


def mamba(x: np.ndarray, w: dict[str, np.ndarray], d_state: int, d_conv: int, expand: int,
          dt_rank: int | None = None) -> np.ndarray:
    """mamba_ssm Mamba block (no in/out_proj bias, conv bias, as in mamba_ssm defaults).
    x [B, L, d_model] -> [B, L, d_model]."""
    w = _f64(w)
    x = np.asarray(x, dtype=np.float64)
    Bsz, L, d_model = x.shape
    d_inner = expand * d_model
    dt_rank = dt_rank or mamba_dt_rank(d_model)
    xz = x @ w["in_proj.weight"].T                                     # [B, L, 2*Di]
    u, z = xz[..., :d_inner], xz[..., d_inner:]
    u = causal_conv1d(u.transpose(0, 2, 1), w["conv1d.weight"], w["conv1d.bias"], groups=d_inner)
    u = _silu(u)                                                       # [B, Di, L]
    x_dbl = u.transpose(0, 2, 1) @ w["x_proj.weight"].T                # [B, L, R + 2N]
    dt = x_dbl[..., :dt_rank] @ w["dt_proj.weight"].T                  # [B, L, Di], bias added in the scan
    Bm = x_dbl[..., dt_rank:dt_rank + d_state].transpose(0, 2, 1)
    Cm = x_dbl[..., dt_rank + d_state:].transpose(0, 2, 1)
    A = -np.exp(w["A_log"])
    y = selective_scan(u, dt.transpose(0, 2, 1), A, Bm, Cm, w["D"], z.transpose(0, 2, 1),
                       w["dt_proj.bias"])
    return y.transpose(0, 2, 1) @ w["out_proj.weight"].T


def mamba_init(rng: np.random.Generator, d_model: int, d_state: int, d_conv: int, expand: int,
               dt_rank: int | None = None) -> dict[str, np.ndarray]:
    """Random weights shaped and scaled like mamba_ssm's initialisation (S4D-real A, dt in
    [1e-3, 1e-1] through the inverse softplus bias), so the scan runs in its realistic regime."""
    d_inner = expand * d_model
    R = dt_rank or mamba_dt_rank(d_model)

    def uni(shape, fan_in):
        bound = 1.0 / math.sqrt(fan_in)
        return rng.uniform(-bound, bound, shape)

    dt = np.exp(rng.uniform(math.log(1e-3), math.log(1e-1), d_inner))
    return {
        "in_proj.weight": uni((2 * d_inner, d_model), d_model),
        "conv1d.weight": uni((d_inner, 1, d_conv), d_conv),
        "conv1d.bias": uni((d_inner,), d_conv),
        "x_proj.weight": uni((R + 2 * d_state, d_inner), d_inner),
        "dt_proj.weight": rng.uniform(-R ** -0.5, R ** -0.5, (d_inner, R)),
        "dt_proj.bias": dt + np.log(-np.expm1(-dt)),
        "A_log": np.log(np.tile(np.arange(1, d_state + 1, dtype=np.float64), (d_inner, 1))),
        "D": np.ones(d_inner) + 0.1 * rng.standard_normal(d_inner),
        "out_proj.weight": uni((d_model, d_inner), d_inner),
    }
