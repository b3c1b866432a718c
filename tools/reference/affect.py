"""Numpy references for the Affect module (float64, written from the definitions, not from the Swift):

- centroid_projection: the expression posterior projected onto category VA centroids; mean and
  variance of the mixture "class by the posterior, then a VA point from that class's spread".
- rts_smoother: the random-walk smoother solved as one batch least-squares problem in information
  form (the exact Gaussian posterior: minimise sum_k (y_k - x_k)^2 / r_k +
  sum_k (x_k - x_{k-1})^2 / (q dt_k); posterior covariance = inverse of the tridiagonal precision).
  It shares no recursion with the Swift Kalman/RTS code, so agreement checks both.
  The filtered estimate at k is the same posterior restricted to samples up to k.
- fusion_mlp / sequence_head: the trained-head layouts of docs/model-package.md ("VA head",
  "Temporal model"), built on sequence.py's TCN and Mamba blocks and networks.py's linear.
"""
from __future__ import annotations

import numpy as np

import networks
import sequence

f64 = np.float64


def centroid_projection(p: np.ndarray, centroids: list[dict]) -> tuple[np.ndarray, np.ndarray]:
    """p [N, K] posteriors (renormalised, negatives dropped) -> VA [N, 2], variance [N, 2]."""
    p = np.clip(np.asarray(p, f64), 0.0, None)
    p = p / p.sum(axis=1, keepdims=True)
    mean = np.array([[c["valence_mean"], c["arousal_mean"]] for c in centroids], f64)   # [K, 2]
    sd = np.array([[c["valence_sd"], c["arousal_sd"]] for c in centroids], f64)
    va = p @ mean
    var = np.einsum("nk,nkd->nd", p, sd[None] ** 2 + (mean[None] - va[:, None]) ** 2)
    return np.clip(va, -1, 1), var


def observation_variance(confidence, head_var, r0):
    """Per sample and axis: (r0 + head variance) / confidence; inf (no information) at confidence 0."""
    c = np.asarray(confidence, f64)[:, None]
    with np.errstate(divide="ignore"):
        return np.where(c > 0, (r0 + np.asarray(head_var, f64)) / np.where(c > 0, c, 1.0), np.inf)


def _posterior(t, y, r, q):
    """Exact posterior of the random walk on samples 0..n-1 of one axis with a diffuse start:
    the states from the first informative sample on. Returns (mean, var) with NaN before it."""
    n = len(t)
    mean, var = np.full(n, np.nan), np.full(n, np.nan)
    obs = np.isfinite(r)
    if not obs.any():
        return mean, var
    s = int(np.argmax(obs))
    m = n - s
    H = np.zeros((m, m))
    g = np.zeros(m)
    for i in range(m):
        k = s + i
        if obs[k]:
            H[i, i] += 1.0 / r[k]
            g[i] += y[k] / r[k]
        if i > 0:
            w = 1.0 / (q * (t[k] - t[k - 1]))
            H[i, i] += w
            H[i - 1, i - 1] += w
            H[i, i - 1] -= w
            H[i - 1, i] -= w
    cov = np.linalg.inv(H)
    mean[s:] = cov @ g
    var[s:] = np.diag(cov)
    return mean, var


def rts_smoother(t, y, confidence, head_var, q, r0):
    """t [n] increasing, y [n, 2], confidence [n], head_var [n, 2].
    Returns filtered mean/var and smoothed mean/var, each [n, 2], NaN where there is no estimate
    (smoothed: outside the observed span; filtered: before the first observation)."""
    t = np.asarray(t, f64)
    y = np.asarray(y, f64)
    r = observation_variance(confidence, head_var, r0)
    n = len(t)
    out = {k: np.full((n, 2), np.nan) for k in ("filtered_mean", "filtered_var", "smoothed_mean", "smoothed_var")}
    for axis in range(2):
        obs = np.isfinite(r[:, axis])
        if not obs.any():
            continue
        last = int(np.nonzero(obs)[0][-1])
        m, v = _posterior(t[:last + 1], y[:last + 1, axis], r[:last + 1, axis], q)
        out["smoothed_mean"][:last + 1, axis] = m
        out["smoothed_var"][:last + 1, axis] = v
        for k in range(n):
            fm, fv = _posterior(t[:k + 1], y[:k + 1, axis], r[:k + 1, axis], q)
            out["filtered_mean"][k, axis] = fm[k]
            out["filtered_var"][k, axis] = fv[k]
    return out


def fusion_mlp(inputs: list[np.ndarray], w: dict[str, np.ndarray], squash: str) -> np.ndarray:
    """concat(inputs) -> linear fc1 + ReLU -> linear fc2 -> squash. inputs [N, F_i] -> [N, 2]."""
    x = np.concatenate([np.asarray(a, f64) for a in inputs], axis=1)
    h = np.maximum(networks.linear(x, w["head.fc1.weight"], w["head.fc1.bias"]), 0.0)
    y = networks.linear(h, w["head.fc2.weight"], w["head.fc2.bias"])
    return np.tanh(y) if squash == "tanh" else np.clip(y, -1, 1)


def sequence_head(x: np.ndarray, w: dict[str, np.ndarray], tcn: list[dict], mamba: dict, squash: str) -> np.ndarray:
    """Mamba-VA's layout: TCN blocks -> Mamba block -> FC + ReLU -> FC -> squash. x [1, T, F] -> [1, T, 2].
    tcn: [{"prefix", "dilation"}]; mamba: {"prefix", "d_state", "d_conv", "expand"}."""
    def sub(prefix):
        return {k[len(prefix):]: v for k, v in w.items() if k.startswith(prefix)}
    h = np.asarray(x, f64).transpose(0, 2, 1)                      # TemporalBlock reads [B, C, T]
    for block in tcn:
        h = sequence.temporal_block(h, sub(block["prefix"]), block["dilation"])
    h = h.transpose(0, 2, 1)
    h = sequence.mamba(h, sub(mamba["prefix"]), mamba["d_state"], mamba["d_conv"], mamba["expand"])
    h = np.maximum(networks.linear(h, w["temporal.fc1.weight"], w["temporal.fc1.bias"]), 0.0)
    y = networks.linear(h, w["temporal.fc2.weight"], w["temporal.fc2.bias"])
    return np.tanh(y) if squash == "tanh" else np.clip(y, -1, 1)
