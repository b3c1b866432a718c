"""Numpy reference implementations of the engine's image kernels, written from the frameworks'
definitions (PyTorch docs for conv/pool/activations/norms, TensorFlow for 'same' padding), not
from the Swift code. Everything here is NCHW, float64, and deliberately direct (loops over kernel
taps, explicit padding) so it is easy to check by eye. Pads are (top, left, bottom, right).
"""
from __future__ import annotations

import math

import numpy as np


def same_pads(h: int, w: int, kh: int, kw: int, sh: int, sw: int, dh: int = 1, dw: int = 1):
    """TensorFlow 'SAME': output ceil(in/stride); total pad max((out-1)*s + (k-1)*d + 1 - in, 0),
    the smaller half at the top/left, the extra row/column at the bottom/right."""
    def total(n, k, s, d):
        out = -(-n // s)
        return max((out - 1) * s + (k - 1) * d + 1 - n, 0)
    th, tw = total(h, kh, sh, dh), total(w, kw, sw, dw)
    return th // 2, tw // 2, th - th // 2, tw - tw // 2


def _pad(x: np.ndarray, pads, value: float) -> np.ndarray:
    top, left, bottom, right = pads
    return np.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)), constant_values=value)


def conv2d(x, w, b=None, stride=(1, 1), pads=(0, 0, 0, 0), dilation=(1, 1), groups=1):
    """PyTorch Conv2d: out[n,o,i,j] = b[o] + sum_{c,ky,kx} xpad[n, g*Cg + c, i*sh + ky*dh, j*sw + kx*dw] * w[o,c,ky,kx]
    with g the group of o."""
    n, cin, h, wd = x.shape
    cout, cg, kh, kw = w.shape
    assert cin == cg * groups and cout % groups == 0
    sh, sw = stride
    dh, dw = dilation
    xp = _pad(x, pads, 0.0)
    hp, wp = xp.shape[2], xp.shape[3]
    oh = (hp - dh * (kh - 1) - 1) // sh + 1
    ow = (wp - dw * (kw - 1) - 1) // sw + 1
    og = cout // groups
    y = np.zeros((n, cout, oh, ow))
    for g in range(groups):
        xs_g = xp[:, g * cg:(g + 1) * cg]
        w_g = w[g * og:(g + 1) * og]
        for ky in range(kh):
            for kx in range(kw):
                patch = xs_g[:, :, ky * dh: ky * dh + sh * (oh - 1) + 1: sh, kx * dw: kx * dw + sw * (ow - 1) + 1: sw]
                y[:, g * og:(g + 1) * og] += np.einsum("nchw,oc->nohw", patch, w_g[:, :, ky, kx])
    if b is not None:
        y += b.reshape(1, -1, 1, 1)
    return y


def batchnorm(x, gamma, beta, mean, var, eps):
    """Inference batch norm over axis 1: (x - mean) / sqrt(var + eps) * gamma + beta."""
    s = (1, -1) + (1,) * (x.ndim - 2)
    g = np.ones_like(mean) if gamma is None else gamma
    bt = np.zeros_like(mean) if beta is None else beta
    return (x - mean.reshape(s)) / np.sqrt(var.reshape(s) + eps) * g.reshape(s) + bt.reshape(s)


def _pool_out(n, p0, p1, k, s, d, ceil):
    """PyTorch pooling output size; in ceil mode the last window must start inside input + left pad."""
    span = n + p0 + p1 - d * (k - 1) - 1
    o = (math.ceil(span / s) if ceil else span // s) + 1
    if ceil and (o - 1) * s >= n + p0:
        o -= 1
    return o


def maxpool2d(x, kernel, stride, pads=(0, 0, 0, 0), dilation=(1, 1), ceil=False):
    """Max over each window; padding (and the ceil-mode overhang) is -inf, so it never wins."""
    n, c, h, w = x.shape
    kh, kw = kernel
    sh, sw = stride
    dh, dw = dilation
    top, left, bottom, right = pads
    oh, ow = _pool_out(h, top, bottom, kh, sh, dh, ceil), _pool_out(w, left, right, kw, sw, dw, ceil)
    big = np.full((n, c, h + top + bottom + kh * dh + sh, w + left + right + kw * dw + sw), -np.inf)
    big[:, :, top:top + h, left:left + w] = x
    y = np.full((n, c, oh, ow), -np.inf)
    for i in range(oh):
        for j in range(ow):
            win = big[:, :, i * sh: i * sh + dh * (kh - 1) + 1: dh, j * sw: j * sw + dw * (kw - 1) + 1: dw]
            y[:, :, i, j] = win.max(axis=(2, 3))
    return y


def avgpool2d(x, kernel, stride, pads=(0, 0, 0, 0), ceil=False, count_include_pad=True):
    """PyTorch AvgPool2d: sum of the valid cells divided by the window clipped to the padded input
    (count_include_pad) or by the number of valid cells."""
    n, c, h, w = x.shape
    kh, kw = kernel
    sh, sw = stride
    top, left, bottom, right = pads
    oh, ow = _pool_out(h, top, bottom, kh, sh, 1, ceil), _pool_out(w, left, right, kw, sw, 1, ceil)
    y = np.zeros((n, c, oh, ow))
    for i in range(oh):
        for j in range(ow):
            hs, ws = i * sh - top, j * sw - left
            he, we = min(hs + kh, h + bottom), min(ws + kw, w + right)
            padded_size = (he - hs) * (we - ws)
            hs0, ws0, he0, we0 = max(hs, 0), max(ws, 0), min(he, h), min(we, w)
            s = x[:, :, hs0:he0, ws0:we0].sum(axis=(2, 3))
            div = padded_size if count_include_pad else (he0 - hs0) * (we0 - ws0)
            y[:, :, i, j] = s / div
    return y


def global_avg_pool(x):
    return x.mean(axis=(2, 3))


def linear(x, w, b=None):
    y = x @ w.T
    return y if b is None else y + b


def relu(x):
    return np.maximum(x, 0)


def relu6(x):
    return np.minimum(np.maximum(x, 0), 6)


def leaky_relu(x, alpha=0.01):
    return np.where(x >= 0, x, alpha * x)


def prelu(x, slope, axis=1):
    """PyTorch PReLU: one slope per channel (axis 1 of NCHW), or one shared."""
    s = slope.reshape([-1 if i == axis else 1 for i in range(x.ndim)]) if slope.size > 1 else slope.reshape(())
    return np.where(x >= 0, x, s * x)


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def silu(x):
    return x * sigmoid(x)


def softplus(x, beta=1.0, threshold=20.0):
    """PyTorch Softplus: log(1 + exp(beta x)) / beta, linear above threshold."""
    return np.where(x * beta > threshold, x, np.log1p(np.exp(np.minimum(x * beta, threshold))) / beta)


def softmax(x, axis=-1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def layer_norm(x, weight=None, bias=None, eps=1e-5):
    mu = x.mean(axis=-1, keepdims=True)
    var = ((x - mu) ** 2).mean(axis=-1, keepdims=True)
    y = (x - mu) / np.sqrt(var + eps)
    if weight is not None:
        y = y * weight
    if bias is not None:
        y = y + bias
    return y


def rms_norm(x, weight=None, eps=1e-6):
    y = x / np.sqrt((x ** 2).mean(axis=-1, keepdims=True) + eps)
    return y if weight is None else y * weight


def flatten(x, order):
    """NCHW -> [N, features] in the order a framework flattens: 'nchw' (torch.flatten),
    'nwhc' (x.permute(0, 3, 2, 1) then flatten: MTCNN), 'nhwc' (Keras Flatten on NHWC)."""
    n = x.shape[0]
    if order == "nchw":
        return x.reshape(n, -1)
    if order == "nwhc":
        return x.transpose(0, 3, 2, 1).reshape(n, -1)
    if order == "nhwc":
        return x.transpose(0, 2, 3, 1).reshape(n, -1)
    raise ValueError(order)


def gelu(x):
    """PyTorch's default (exact) GELU: x Φ(x) = x (1 + erf(x / √2)) / 2."""
    return 0.5 * x * (1 + np.vectorize(math.erf)(x / math.sqrt(2)))


def gated_gcn(h, e, t, nodes, residual):
    """Residual gated graph conv (Bresson & Laurent 2018; benchmarking-gnns GatedGCNLayer) on the
    complete graph with self-loops, edge i -> j at row i * nodes + j; eval-mode batch norms
    t["bn_h.*"], t["bn_e.*"] (eps 1e-5); residual only when the widths agree. h [B, V, D], e [B, V*V, D]."""
    lin = {m: linear(h if m != "C" else e, t[m], t[f"{m}_bias"]) for m in "ABCDE"}
    b, v, out = lin["A"].shape
    e_new = np.zeros((b, v * v, out))
    h_new = np.zeros((b, v, out))
    for j in range(v):
        num, den = np.zeros((b, out)), np.zeros((b, out))
        for i in range(v):
            eij = lin["D"][:, i] + lin["E"][:, j] + lin["C"][:, i * v + j]
            e_new[:, i * v + j] = eij
            s = sigmoid(eij)
            num += s * lin["B"][:, i]
            den += s
        h_new[:, j] = lin["A"][:, j] + num / (den + 1e-6)

    def bn(x, p):
        return (x - t[f"{p}.mean"]) / np.sqrt(t[f"{p}.var"] + 1e-5) * t[f"{p}.weight"] + t[f"{p}.bias"]
    h_new, e_new = relu(bn(h_new, "bn_h")), relu(bn(e_new, "bn_e"))
    if residual and h.shape[-1] == out:
        h_new, e_new = h + h_new, e + e_new
    return h_new, e_new


ACTIVATIONS = {"relu": relu, "relu6": relu6, "sigmoid": sigmoid, "tanh": np.tanh, "silu": silu,
               "softplus": softplus, "gelu": gelu, None: lambda v: v}
