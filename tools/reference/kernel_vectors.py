"""Fixed-seed parity vectors for the image kernels and manifest networks ->
.cache/vectors/kernels/<case>.safetensors and .cache/vectors/network/<case>.safetensors.

Sizes are chosen to break kernels that assume nice shapes: 1x1 images, odd sizes with stride 2,
channels that are not multiples of 8, batch 1 and 7, dilation, groups, depthwise 3x3/5x5, ceil
and floor pooling, TensorFlow 'same' padding on even inputs (asymmetric), -inf max-pool padding.
The references (kernels.py) run NCHW in float64; activations are stored NHWC (the engine's
layout), weights in PyTorch layout (conv OIHW, linear [out, in]). Inputs "x"/"x0".., reference
outputs "expected.<name>"; params as the Swift op registry reads them (docs/model-package.md).
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import kernels as K  # noqa: E402
from vectors import ROOT, save_case  # noqa: E402


def f32(a):
    """Rounds to float32 first, so the reference sees exactly the values stored in the vector."""
    return np.asarray(a, dtype=np.float32).astype(np.float64)


def nhwc(a):
    return a.transpose(0, 2, 3, 1) if a.ndim == 4 else a


def conv_weight(rng, cout, cin_g, kh, kw):
    return f32(rng.standard_normal((cout, cin_g, kh, kw)) / np.sqrt(cin_g * kh * kw))


def bn_params(rng, c, prefix):
    return {f"{prefix}.weight": f32(rng.uniform(0.5, 1.5, c)), f"{prefix}.bias": f32(rng.normal(0, 0.1, c)),
            f"{prefix}.mean": f32(rng.normal(0, 0.1, c)), f"{prefix}.var": f32(rng.uniform(0.5, 1.5, c))}


def pads_of(pad, h, w, kh, kw, sh, sw, dh=1, dw=1):
    if pad == "same":
        return K.same_pads(h, w, kh, kw, sh, sw, dh, dw)
    if pad == "valid" or pad is None:
        return (0, 0, 0, 0)
    if isinstance(pad, int):
        return (pad,) * 4
    if len(pad) == 2:
        return (pad[0], pad[1], pad[0], pad[1])
    return tuple(pad)


def pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


# ---------------------------------------------------------------------------------------------
# Single kernels

def conv_cases(rng, root):
    # name, N, Cin, H, W, Cout, (kh, kw), stride, pad, dilation, groups, bias, bn, activation
    specs = [
        ("conv3x3_s1_p1_b7_odd", 7, 5, 9, 11, 11, (3, 3), 1, 1, 1, 1, True, False, None),
        ("conv3x3_s2_p1_odd", 1, 5, 9, 11, 11, (3, 3), 2, 1, 1, 1, True, False, None),
        ("conv3x3_s2_same_even", 2, 3, 8, 10, 13, (3, 3), 2, "same", 1, 1, True, False, "relu"),
        ("conv3x3_s2_same_odd", 1, 3, 9, 7, 6, (3, 3), 2, "same", 1, 1, False, False, None),
        ("conv1x1_pointwise", 1, 13, 6, 5, 7, (1, 1), 1, 0, 1, 1, True, False, None),
        ("conv1x1_pointwise_b7", 7, 24, 3, 3, 19, (1, 1), 1, "valid", 1, 1, False, True, "relu6"),
        ("conv1x1_s2_same", 1, 9, 7, 7, 10, (1, 1), 2, "same", 1, 1, False, True, None),
        # 49 and 8 rows: a 1-row and a 2-row remainder tile (thinTile), 20 outputs (panel tail).
        ("conv1x1_7x7_thin_rows", 1, 40, 7, 7, 20, (1, 1), 1, 0, 1, 1, True, False, "relu6"),
        ("conv1x1_2x4_thin_rows", 1, 17, 2, 4, 33, (1, 1), 1, 0, 1, 1, True, True, None),
        ("conv3x3_dil2", 1, 4, 11, 12, 5, (3, 3), 1, 2, 2, 1, True, False, None),
        ("conv3x3_dil2_s2", 2, 4, 13, 9, 6, (3, 3), 2, 1, 2, 1, True, False, None),
        ("conv3x3_groups2", 1, 6, 7, 7, 4, (3, 3), 1, 1, 1, 2, True, False, None),
        ("conv3x3_groups3_s2", 3, 9, 8, 9, 6, (3, 3), 2, "same", 1, 3, True, False, "leaky_relu"),
        ("conv_1x1image_3x3", 7, 3, 1, 1, 5, (3, 3), 1, 1, 1, 1, True, False, None),
        ("conv5x3_asym_pad", 1, 2, 6, 7, 3, (5, 3), 1, [0, 1, 2, 1], 1, 1, True, False, None),
        ("conv3x3_bn_relu_valid", 2, 8, 10, 10, 8, (3, 3), 1, "valid", 1, 1, False, True, "relu"),
        ("conv3x3_mtcnn_first", 1, 3, 12, 12, 10, (3, 3), 1, 0, 1, 1, True, False, None),
        ("conv3x3_stem_s2_same_rgb", 1, 3, 19, 19, 32, (3, 3), 2, "same", 1, 1, False, True, "relu6"),
        ("conv2x2_valid", 1, 9, 3, 3, 10, (2, 2), 1, 0, 1, 1, True, False, None),
        # Runs of interior tiles (a row's tiles in one tile-kernel call, the last one shifted
        # back): 1 channel -> 8 (narrow), stride 2 with borders, 10 and 28 outputs (panel tails).
        ("conv3x3_run_c1_c8_valid_b2", 2, 1, 9, 47, 8, (3, 3), 1, "valid", 1, 1, True, False, "relu"),
        ("conv3x3_run_s2_same_c3_c28", 1, 3, 7, 61, 28, (3, 3), 2, "same", 1, 1, True, True, "relu6"),
        ("conv3x3_run_c3_c10_p1", 1, 3, 5, 20, 10, (3, 3), 1, 1, 1, 1, True, False, None),
        # Winograd F(2x2, 3x3) path (3x3, stride 1, >= 8 in / 16 out channels): channel tails,
        # odd outputs (half tiles), several tile blocks per row, 1x1 image, a non-clamp activation.
        ("conv3x3_wino_c13_c20_odd_b2", 2, 13, 9, 11, 20, (3, 3), 1, 1, 1, 1, True, True, "relu6"),
        ("conv3x3_wino_valid_b7", 7, 8, 6, 7, 16, (3, 3), 1, "valid", 1, 1, True, False, "relu"),
        ("conv3x3_wino_wide_silu", 1, 16, 5, 301, 33, (3, 3), 1, "same", 1, 1, True, False, "silu"),
        ("conv3x3_wino_1x1image", 3, 8, 1, 1, 16, (3, 3), 1, 1, 1, 1, False, False, None),
        # depthwise (groups == Cin == Cout) and depth multiplier 2 (grouped path)
        ("dw3x3_c19_p1_relu6", 1, 19, 9, 10, 19, (3, 3), 1, 1, 1, 19, True, False, "relu6"),
        ("dw3x3_c32_s1_same_b7", 7, 32, 7, 8, 32, (3, 3), 1, "same", 1, 32, True, True, "relu6"),
        ("dw3x3_c24_s2_same_even", 1, 24, 10, 12, 24, (3, 3), 2, "same", 1, 24, False, True, None),
        ("dw3x3_c16_s2_same_odd", 2, 16, 11, 9, 16, (3, 3), 2, "same", 1, 16, True, False, "relu"),
        ("dw3x3_c8_dil2", 1, 8, 9, 9, 8, (3, 3), 1, 2, 2, 8, True, False, None),
        ("dw5x5_c20_s2_same", 1, 20, 11, 12, 20, (5, 5), 2, "same", 1, 20, True, True, "relu6"),
        ("dw5x5_c40_s1_same", 1, 40, 7, 7, 40, (5, 5), 1, "same", 1, 40, False, True, "relu6"),
        ("dw3x3_c5_1x1image", 3, 5, 1, 1, 5, (3, 3), 1, 1, 1, 5, True, False, None),
        ("dw3x3_mult2_c6", 1, 6, 6, 7, 12, (3, 3), 1, 1, 1, 6, True, False, None),
        ("dw3x3_c12_valid", 1, 12, 6, 5, 12, (3, 3), 1, "valid", 1, 12, False, False, None),
    ]
    for (name, n, cin, h, w, cout, (kh, kw), s, pad, d, g, bias, bn, act) in specs:
        sh, sw = pair(s)
        dh, dw = pair(d)
        x = f32(rng.standard_normal((n, cin, h, w)))
        tensors = {"weight": conv_weight(rng, cout, cin // g, kh, kw)}
        if bias:
            tensors["bias"] = f32(rng.normal(0, 0.5, cout))
        params = {"stride": s, "pad": pad, "dilation": d, "groups": g}
        if bn:
            tensors.update(bn_params(rng, cout, "bn"))
            params["bn_eps"] = 1e-3
        if act:
            params["activation"] = act
        if act == "leaky_relu":
            params["alpha"] = 0.2
        y = K.conv2d(x, tensors["weight"], tensors.get("bias"), (sh, sw),
                     pads_of(pad, h, w, kh, kw, sh, sw, dh, dw), (dh, dw), g)
        if bn:
            y = K.batchnorm(y, tensors["bn.weight"], tensors["bn.bias"], tensors["bn.mean"], tensors["bn.var"], 1e-3)
        y = K.leaky_relu(y, 0.2) if act == "leaky_relu" else K.ACTIVATIONS[act](y)
        save_case("kernels", name, "conv2d", params, {"x": nhwc(x), **tensors, "expected.y": nhwc(y)}, root)


def pool_cases(rng, root):
    # name, op, N, C, H, W, kernel, stride, pad, dilation, ceil, count_include_pad
    specs = [
        ("maxpool2x2_s2_ceil_odd", "maxpool", 1, 10, 7, 9, 2, 2, 0, 1, True, None),
        ("maxpool3x3_s2_ceil", "maxpool", 7, 5, 11, 10, 3, 2, 0, 1, True, None),
        ("maxpool3x3_s2_floor", "maxpool", 2, 5, 11, 10, 3, 2, 0, 1, False, None),
        ("maxpool3x3_s2_same_even", "maxpool", 1, 9, 8, 10, 3, 2, "same", 1, False, None),
        ("maxpool3x3_s2_same_odd", "maxpool", 1, 9, 7, 7, 3, 2, "same", 1, False, None),
        ("maxpool3x3_s2_p1_ceil", "maxpool", 1, 3, 8, 9, 3, 2, 1, 1, True, None),
        ("maxpool3x3_dil2", "maxpool", 1, 4, 9, 9, 3, 1, 1, 2, False, None),
        ("maxpool_1x1image", "maxpool", 3, 6, 1, 1, 2, 2, 0, 1, True, None),
        # Whole vectors of channels take the interior-run path (Pooling.swift): 16 (pairs of
        # vectors), 24 (a pair and a single), 8 with dilation, odd and even pixel runs.
        ("maxpool3x3_s2_same_c16", "maxpool", 2, 16, 13, 12, 3, 2, "same", 1, False, None),
        ("maxpool3x3_s1_p1_c24", "maxpool", 1, 24, 6, 9, 3, 1, 1, 1, False, None),
        ("maxpool2x2_s2_ceil_c8_dil2", "maxpool", 1, 8, 9, 11, 2, 2, 0, 2, True, None),
        # Channels past the last whole vector one by one (P-Net pools 10), pairs and a lone last pixel.
        ("maxpool2x2_s2_ceil_c10_run", "maxpool", 2, 10, 12, 23, 2, 2, 0, 1, True, None),
        ("maxpool3x3_s2_ceil_c13", "maxpool", 1, 13, 11, 16, 3, 2, 0, 1, True, None),
        ("maxpool3x3_s1_p1_c17", "maxpool", 1, 17, 5, 8, 3, 1, 1, 1, False, None),
        ("avgpool3x3_s2_p1_ceil_incl", "avgpool", 2, 5, 8, 9, 3, 2, 1, 1, True, True),
        ("avgpool3x3_s2_p1_excl", "avgpool", 1, 5, 9, 8, 3, 2, 1, 1, False, False),
        ("avgpool2x2_s2_ceil_odd", "avgpool", 1, 7, 7, 5, 2, 2, 0, 1, True, True),
        ("avgpool3x3_s2_same_tf", "avgpool", 1, 4, 8, 8, 3, 2, "same", 1, False, False),
    ]
    for (name, op, n, c, h, w, k, s, pad, d, ceil, cip) in specs:
        kh, kw = pair(k)
        sh, sw = pair(s)
        x = f32(rng.standard_normal((n, c, h, w)))
        pads = pads_of(pad, h, w, kh, kw, sh, sw, d, d)
        params = {"kernel": k, "stride": s, "pad": pad, "ceil": ceil}
        if op == "maxpool":
            params["dilation"] = d
            y = K.maxpool2d(x, (kh, kw), (sh, sw), pads, (d, d), ceil)
        else:
            params["count_include_pad"] = cip
            y = K.avgpool2d(x, (kh, kw), (sh, sw), pads, ceil, cip)
        save_case("kernels", name, op, params, {"x": nhwc(x), "expected.y": nhwc(y)}, root)
    for n, c, h, w in [(7, 13, 5, 3), (1, 1280, 7, 7), (2, 3, 1, 1)]:
        x = f32(rng.standard_normal((n, c, h, w)))
        save_case("kernels", f"global_avg_pool_{n}x{c}x{h}x{w}", "global_avg_pool", {},
                  {"x": nhwc(x), "expected.y": K.global_avg_pool(x)}, root)


def linear_cases(rng, root):
    for name, xshape, fin, fout, bias, act in [
        ("linear_b1_13_7", (1, 13), 13, 7, True, None),
        ("linear_b7_relu", (7, 33), 33, 17, True, "relu"),
        ("linear_rank3_nobias", (2, 5, 9), 9, 4, False, None),
        ("linear_b8_1280_512", (8, 1280), 1280, 512, True, None),
        ("linear_b9_odd_out", (9, 21), 21, 13, True, "relu6"),  # row and column tails of the SIMD path
        ("linear_b40_blas", (40, 19), 19, 23, True, "sigmoid"),  # above the small-batch limit: sgemm
    ]:
        x = f32(rng.standard_normal(xshape))
        wt = f32(rng.standard_normal((fout, fin)) / np.sqrt(fin))
        tensors = {"weight": wt}
        if bias:
            tensors["bias"] = f32(rng.normal(0, 0.5, fout))
        y = K.ACTIVATIONS[act](K.linear(x, wt, tensors.get("bias")))
        save_case("kernels", name, "linear", {"activation": act} if act else {},
                  {"x": x, **tensors, "expected.y": y}, root)


def activation_cases(rng, root):
    x = f32(rng.standard_normal((3, 11, 5, 7)) * 4)  # NCHW, channels 11
    for op in ["relu", "relu6", "sigmoid", "tanh", "silu", "softplus"]:
        save_case("kernels", f"act_{op}", op, {}, {"x": nhwc(x), "expected.y": nhwc(K.ACTIVATIONS[op](x))}, root)
    big = f32(rng.standard_normal((2, 3, 4, 5)) * 30)  # softplus threshold and sigmoid saturation
    for op in ["softplus", "sigmoid"]:
        save_case("kernels", f"act_{op}_large", op, {}, {"x": nhwc(big), "expected.y": nhwc(K.ACTIVATIONS[op](big))},
                  root)
    save_case("kernels", "act_leaky_relu", "leaky_relu", {"alpha": 0.2},
              {"x": nhwc(x), "expected.y": nhwc(K.leaky_relu(x, 0.2))}, root)
    slope = f32(rng.uniform(0, 0.5, 11))
    save_case("kernels", "prelu_per_channel", "prelu", {},
              {"x": nhwc(x), "slope": slope, "expected.y": nhwc(K.prelu(x, slope))}, root)
    shared = f32([0.25])
    save_case("kernels", "prelu_shared", "prelu", {},
              {"x": nhwc(x), "slope": shared, "expected.y": nhwc(K.prelu(x, shared))}, root)
    x2 = f32(rng.standard_normal((7, 16)))
    slope2 = f32(rng.uniform(0, 0.5, 16))
    save_case("kernels", "prelu_2d", "prelu", {}, {"x": x2, "slope": slope2, "expected.y": K.prelu(x2, slope2)}, root)
    save_case("kernels", "softmax_channels", "softmax", {},
              {"x": nhwc(x), "expected.y": nhwc(K.softmax(x, axis=1))}, root)
    v = f32(rng.standard_normal((4, 6, 9)) * 5)
    save_case("kernels", "softmax_axis1", "softmax", {"axis": 1}, {"x": v, "expected.y": K.softmax(v, axis=1)}, root)


def norm_cases(rng, root):
    x = f32(rng.standard_normal((7, 33)) * 3 + 1)
    wt, b = f32(rng.uniform(0.5, 1.5, 33)), f32(rng.normal(0, 0.2, 33))
    save_case("kernels", "layer_norm", "layer_norm", {"eps": 1e-5},
              {"x": x, "weight": wt, "bias": b, "expected.y": K.layer_norm(x, wt, b, 1e-5)}, root)
    x3 = f32(rng.standard_normal((2, 5, 256)))
    save_case("kernels", "layer_norm_noaffine", "layer_norm", {},
              {"x": x3, "expected.y": K.layer_norm(x3)}, root)
    save_case("kernels", "rms_norm", "rms_norm", {"eps": 1e-6},
              {"x": x, "weight": wt, "expected.y": K.rms_norm(x, wt, 1e-6)}, root)
    xc = f32(rng.standard_normal((2, 7, 4, 5)))
    bn = bn_params(rng, 7, "bn")
    y = K.batchnorm(xc, bn["bn.weight"], bn["bn.bias"], bn["bn.mean"], bn["bn.var"], 1e-3)
    save_case("kernels", "batchnorm_relu", "batchnorm", {"channels": 7, "bn_eps": 1e-3, "activation": "relu"},
              {"x": nhwc(xc), **bn, "expected.y": nhwc(K.relu(y))}, root)


def elementwise_cases(rng, root):
    def pairs():
        yield "add_same", "add", (7, 5, 5, 11), (7, 5, 5, 11)
        yield "add_channel_broadcast", "add", (7, 5, 5, 11), (11,)
        yield "add_spatial_broadcast", "add", (2, 5, 5, 11), (2, 1, 1, 11)
        yield "mul_outer_broadcast", "mul", (3, 1, 5), (4, 1)
        yield "mul_scalar", "mul", (2, 3, 7), (1,)
    for name, op, sa, sb in pairs():
        a, b = f32(rng.standard_normal(sa)), f32(rng.standard_normal(sb))
        save_case("kernels", name, op, {}, {"x0": a, "x1": b, "expected.y": a + b if op == "add" else a * b}, root)
    a, b = f32(rng.standard_normal((2, 3, 3, 5))), f32(rng.standard_normal((2, 3, 3, 7)))
    save_case("kernels", "concat_channels", "concat", {},
              {"x0": a, "x1": b, "expected.y": np.concatenate([a, b], -1)}, root)
    c = f32(rng.standard_normal((2, 1, 3, 5)))
    save_case("kernels", "concat_axis1_three", "concat", {"axis": 1},
              {"x0": a[..., :5], "x1": c, "x2": a[..., :5],
               "expected.y": np.concatenate([a[..., :5], c, a[..., :5]], 1)}, root)
    x = f32(rng.standard_normal((3, 4, 2, 5)))  # NCHW: C=4, H=2, W=5
    for order in ["nhwc", "nchw", "nwhc"]:
        save_case("kernels", f"flatten_{order}", "flatten", {"order": order},
                  {"x": nhwc(x), "expected.y": K.flatten(x, order)}, root)


# ---------------------------------------------------------------------------------------------
# Networks in manifest syntax, with a hand-written numpy forward pass each

class Net:
    """Collects weights (with names) and manifest blocks while the numpy forward runs."""

    def __init__(self, rng, prefix):
        self.rng, self.prefix, self.weights, self.blocks = rng, prefix, {}, []

    def conv(self, name, x, cout, k, stride=1, pad="valid", groups=1, bias=True, bn=False, act=None, inp=None):
        n, cin, h, w = x.shape
        kh, kw = pair(k)
        sh, sw = pair(stride)
        wname = f"{self.prefix}.{name}.weight"
        self.weights[wname] = conv_weight(self.rng, cout, cin // groups, kh, kw)
        block = {"op": "conv2d", "name": name, "weight": wname, "stride": stride, "pad": pad, "groups": groups}
        if inp:
            block["input"] = inp
        b = None
        if bias:
            b = self.weights[f"{self.prefix}.{name}.bias"] = f32(self.rng.normal(0, 0.3, cout))
            block["bias"] = f"{self.prefix}.{name}.bias"
        y = K.conv2d(x, self.weights[wname], b, (sh, sw), pads_of(pad, h, w, kh, kw, sh, sw), (1, 1), groups)
        if bn:
            p = bn_params(self.rng, cout, f"{self.prefix}.{name}_bn")
            self.weights.update(p)
            keys = list(p)
            block["bn"] = {"weight": keys[0], "bias": keys[1], "mean": keys[2], "var": keys[3], "eps": 1e-3}
            y = K.batchnorm(y, *[p[k] for k in keys], 1e-3)
        if act:
            block["activation"] = act
            y = K.ACTIVATIONS[act](y)
        self.blocks.append(block)
        return y

    def prelu(self, name, x):
        c = x.shape[1]
        s = self.weights[f"{self.prefix}.{name}.weight"] = f32(self.rng.uniform(0, 0.5, c))
        self.blocks.append({"op": "prelu", "name": name, "slope": f"{self.prefix}.{name}.weight"})
        return K.prelu(x, s)

    def linear(self, name, x, fout, act=None, inp=None):
        wn, bn_ = f"{self.prefix}.{name}.weight", f"{self.prefix}.{name}.bias"
        self.weights[wn] = f32(self.rng.standard_normal((fout, x.shape[1])) / np.sqrt(x.shape[1]))
        self.weights[bn_] = f32(self.rng.normal(0, 0.3, fout))
        block = {"op": "linear", "name": name, "weight": wn, "bias": bn_}
        if inp:
            block["input"] = inp
        if act:
            block["activation"] = act
        self.blocks.append(block)
        return K.ACTIVATIONS[act](K.linear(x, self.weights[wn], self.weights[bn_]))

    def add(self, name, a, b, a_name, b_name):
        self.blocks.append({"op": "add", "name": name, "inputs": [a_name, b_name]})
        return a + b

    def block(self, **b):
        self.blocks.append(b)

    def save(self, case, x, in_shape, outputs, root):
        """outputs: [(output name, block name, reference NCHW-or-2D array)]."""
        network = {"inputs": [{"name": "image", "shape": in_shape}], "blocks": self.blocks,
                   "outputs": [{"name": o, "block": b} for o, b, _ in outputs]}
        save_case("network", case, "network", {"network": network, "outputs": [o for o, _, _ in outputs]},
                  {"x": nhwc(x), **self.weights, **{f"expected.{o}": nhwc(v) for o, _, v in outputs}}, root)


def pnet_like(rng, root):
    """MTCNN P-Net shape: convs + per-channel PReLU, 2x2/2 ceil-mode max-pool on an odd map,
    1x1 heads, softmax over channels; any input size."""
    net = Net(rng, "pnet")
    x = f32(rng.standard_normal((1, 3, 15, 17)))
    h = net.prelu("prelu1", net.conv("conv1", x, 10, 3))
    net.block(op="maxpool", name="pool1", kernel=2, stride=2, ceil=True)
    h = K.maxpool2d(h, (2, 2), (2, 2), ceil=True)
    h = net.prelu("prelu2", net.conv("conv2", h, 16, 3))
    h = net.prelu("prelu3", net.conv("conv3", h, 32, 3))
    logits = net.conv("conv4_1", h, 2, 1)
    net.block(op="softmax", name="prob", axis=-1)
    prob = K.softmax(logits, axis=1)
    box = net.conv("conv4_2", h, 4, 1, inp="prelu3")
    net.save("pnet_like", x, [None, None, 3], [("prob", "prob", prob), ("box", "conv4_2", box)], root)


def rnet_like(rng, root):
    """MTCNN R-Net shape: 3x3/2 ceil pools, the permute(0,3,2,1) flatten, dense + PReLU, two heads."""
    net = Net(rng, "rnet")
    x = f32(rng.standard_normal((7, 3, 24, 24)))
    h = net.prelu("prelu1", net.conv("conv1", x, 7, 3))
    net.block(op="maxpool", name="pool1", kernel=3, stride=2, ceil=True)
    h = K.maxpool2d(h, (3, 3), (2, 2), ceil=True)
    h = net.prelu("prelu2", net.conv("conv2", h, 9, 3))
    net.block(op="maxpool", name="pool2", kernel=3, stride=2, ceil=True)
    h = K.maxpool2d(h, (3, 3), (2, 2), ceil=True)
    h = net.prelu("prelu3", net.conv("conv3", h, 10, 2))
    net.block(op="flatten", name="flat", order="nwhc")
    f = K.flatten(h, "nwhc")
    f = net.linear("dense4", f, 16)
    w = net.weights["rnet.prelu4.weight"] = f32(rng.uniform(0, 0.5, 16))
    net.block(op="prelu", name="prelu4", slope="rnet.prelu4.weight")
    f = K.prelu(f, w)
    prob = K.softmax(net.linear("dense5_1", f, 2), axis=1)
    net.block(op="softmax", name="prob")
    box = net.linear("dense5_2", f, 4, inp="prelu4")
    net.save("rnet_like", x, [24, 24, 3], [("prob", "prob", prob), ("box", "dense5_2", box)], root)


def xception_like(rng, root):
    """mini-Xception shape: valid convs + BN + ReLU, residual modules of separable convs
    ('same', asymmetric on even maps) with a 3x3/2 'same' max-pool and a 1x1/2 conv shortcut,
    a 'same' 3x3 conv to the classes, global average pool, softmax."""
    net = Net(rng, "xcp")
    x = f32(rng.standard_normal((7, 1, 18, 18)))
    h = net.conv("conv1", x, 8, 3, bias=False, bn=True, act="relu")
    h = net.conv("conv2", h, 8, 3, bias=False, bn=True, act="relu")
    prev = "conv2"
    for m, cout in enumerate([16, 24]):
        short = net.conv(f"m{m}_short", h, cout, 1, stride=2, pad="same", bias=False, bn=True, inp=prev)
        cin = h.shape[1]
        t = net.conv(f"m{m}_dw1", h, cin, 3, pad="same", groups=cin, bias=False, inp=prev)
        t = net.conv(f"m{m}_pw1", t, cout, 1, bias=False, bn=True, act="relu")
        t = net.conv(f"m{m}_dw2", t, cout, 3, pad="same", groups=cout, bias=False)
        t = net.conv(f"m{m}_pw2", t, cout, 1, bias=False, bn=True)
        net.block(op="maxpool", name=f"m{m}_pool", kernel=3, stride=2, pad="same")
        hh, ww = t.shape[2], t.shape[3]
        t = K.maxpool2d(t, (3, 3), (2, 2), K.same_pads(hh, ww, 3, 3, 2, 2))
        h = net.add(f"m{m}", t, short, f"m{m}_pool", f"m{m}_short")
        prev = f"m{m}"
    h = net.conv("classes", h, 7, 3, pad="same")
    net.block(op="global_avg_pool", name="gap")
    net.block(op="softmax", name="probs")
    probs = K.softmax(K.global_avg_pool(h), axis=1)
    net.save("xception_like", x, [18, 18, 1], [("probs", "probs", probs)], root)


def mbconv_like(rng, root):
    """EfficientNet-Lite0 shape: 3x3/2 'same' stem, MBConv blocks (1x1 expand + ReLU6, depthwise
    3x3/5x5 'same' + ReLU6, 1x1 project, residual when shapes match), 1x1 head, pooled features."""
    net = Net(rng, "eff")
    x = f32(rng.standard_normal((2, 3, 19, 19)))
    h = net.conv("stem", x, 8, 3, stride=2, pad="same", bias=False, bn=True, act="relu6")
    prev = "stem"
    for i, (expand, k, s, cout) in enumerate([(1, 3, 1, 8), (6, 5, 2, 12), (6, 5, 1, 12), (6, 3, 2, 20)]):
        cin = h.shape[1]
        t, src = h, prev
        if expand != 1:
            t = net.conv(f"b{i}_expand", t, cin * expand, 1, bias=False, bn=True, act="relu6", inp=src)
            src = None
        c = t.shape[1]
        t = net.conv(f"b{i}_dw", t, c, k, stride=s, pad="same", groups=c, bias=False, bn=True, act="relu6", inp=src)
        t = net.conv(f"b{i}_project", t, cout, 1, bias=False, bn=True)
        if s == 1 and cin == cout:
            h = net.add(f"b{i}", t, h, f"b{i}_project", prev)
            prev = f"b{i}"
        else:
            h, prev = t, f"b{i}_project"
    h = net.conv("head", h, 40, 1, bias=False, bn=True, act="relu6")
    net.block(op="global_avg_pool", name="features")
    feats = K.global_avg_pool(h)
    logits = net.linear("fc", feats, 10)
    net.save("mbconv_like", x, [19, 19, 3], [("features", "features", feats), ("logits", "fc", logits)], root)


def audio_encoder_like(rng, root):
    """An audio encoder over a raw 16 kHz window (the blocks a VQ-MAE-AV-style audio branch needs):
    reflect pad, an STFT as a conv with a Hann-windowed DFT basis (128 taps, hop 64), magnitude, a
    mel-like linear map with positive weights, log, two convs over time, global average, linear."""
    net = Net(rng, "audio")
    samples, taps, hop, bins, mels = 1024, 128, 64, 65, 16
    x = f32(rng.standard_normal((1, 1, 1, samples)) * 0.3)
    h = np.pad(x.astype(np.float64), ((0, 0), (0, 0), (0, 0), (hop, hop)), mode="reflect")
    net.block(op="reflect_pad", name="pad", pad=[0, hop, 0, hop])
    n = np.arange(taps)
    window = 0.5 - 0.5 * np.cos(2 * np.pi * n / taps)
    k = np.arange(bins)[:, None]
    basis = np.concatenate([window * np.cos(2 * np.pi * k * n / taps), -window * np.sin(2 * np.pi * k * n / taps)])
    net.weights["audio.stft.basis"] = f32(basis[:, None, None, :])
    net.block(op="conv2d", name="stft", weight="audio.stft.basis", stride=[1, hop])
    spec = K.conv2d(h, net.weights["audio.stft.basis"].astype(np.float64), None, (1, hop), (0, 0, 0, 0), (1, 1), 1)
    net.block(op="magnitude", name="magnitude")
    mag = np.sqrt(spec[:, :bins] ** 2 + spec[:, bins:] ** 2)
    fb = net.weights["audio.mel.weight"] = f32(rng.uniform(0, 0.2, (mels, bins)))
    net.block(op="linear", name="mel", weight="audio.mel.weight")
    mel = np.einsum("mc,nchw->nmhw", fb.astype(np.float64), mag)
    net.block(op="log", name="log_mel", eps=1e-4)
    h = np.log(np.maximum(mel, 1e-4))
    h = net.conv("time1", h, 24, (1, 3), pad=[0, 1], act="relu")
    h = net.conv("time2", h, 24, (1, 3), stride=(1, 2), pad=[0, 1], act="relu")
    net.block(op="global_avg_pool", name="pool")
    emb = net.linear("embedding", K.global_avg_pool(h), 8)
    net.save("audio_encoder_like", x, [1, samples, 1], [("embedding", "embedding", emb)], root)


def graph_cases(rng, root):
    """GELU, mean + max over time, fill, the gated GCN (SoundAQnet's blocks), log with a scale."""
    x = f32(rng.standard_normal((3, 11, 5, 7)) * 3)
    save_case("kernels", "act_gelu", "gelu", {}, {"x": nhwc(x), "expected.y": nhwc(K.gelu(x))}, root)
    v = f32(rng.standard_normal((5, 19)))
    wt, b = f32(rng.standard_normal((13, 19)) / np.sqrt(19)), f32(rng.normal(0, 0.5, 13))
    save_case("kernels", "linear_b5_gelu", "linear", {"activation": "gelu"},
              {"x": v, "weight": wt, "bias": b, "expected.y": K.gelu(K.linear(v, wt, b))}, root)
    t = f32(rng.standard_normal((2, 9, 5, 13)))  # NHWC: H = time 9, W 5, C 13
    save_case("kernels", "mean_max_time", "mean_max", {"axis": 1},
              {"x": t, "expected.y": t.max(axis=1) + t.mean(axis=1)}, root)
    save_case("kernels", "mean_max_last_axis", "mean_max", {"axis": 3},
              {"x": t, "expected.y": t.max(axis=3) + t.mean(axis=3)}, root)
    save_case("kernels", "fill_ones", "fill", {"shape": [6, 4], "value": 1},
              {"x": f32(rng.standard_normal((3, 2))), "expected.y": np.ones((3, 6, 4))}, root)
    for name, nodes, din, dout, residual in [("gated_gcn_8n_32_64", 8, 32, 64, True),
                                             ("gated_gcn_5n_residual", 5, 12, 12, True)]:
        h = f32(rng.standard_normal((2, nodes, din)))
        e = f32(rng.standard_normal((2, nodes * nodes, din)))
        tensors = {}
        for m in "ABCDE":
            tensors[m] = f32(rng.standard_normal((dout, din)) / np.sqrt(din))
            tensors[f"{m}_bias"] = f32(rng.normal(0, 0.3, dout))
        for side in ("h", "e"):
            for role, val in bn_params(rng, dout, f"bn_{side}").items():
                tensors[role] = val
        y_h, y_e = K.gated_gcn(h, e, tensors, nodes, residual)
        params = {"nodes": nodes, "residual": residual,
                  "bn_h": {r: f"bn_h.{r}" for r in ("weight", "bias", "mean", "var")},
                  "bn_e": {r: f"bn_e.{r}" for r in ("weight", "bias", "mean", "var")}}
        save_case("kernels", name, "gated_gcn", params,
                  {"x0": h, "x1": e, **tensors, "expected.y": y_h, "expected.e": y_e}, root)
    p = f32(np.abs(rng.standard_normal((2, 1, 7, 9))) * 10)
    p[0, 0, 0, :3] = 0  # the floor
    save_case("kernels", "log_db", "log", {"eps": 1e-10, "scale": 10 / np.log(10)},
              {"x": p, "expected.y": 10 * np.log10(np.maximum(p, 1e-10))}, root)


def generate(root: Path = ROOT) -> None:
    rng = np.random.default_rng(20261121)
    conv_cases(rng, root)
    pool_cases(rng, root)
    linear_cases(rng, root)
    activation_cases(rng, root)
    norm_cases(rng, root)
    elementwise_cases(rng, root)
    pnet_like(rng, root)
    rnet_like(rng, root)
    xception_like(rng, root)
    mbconv_like(rng, root)
    audio_encoder_like(rng, root)
    graph_cases(rng, root)


if __name__ == "__main__":
    generate()
    print(f"kernel and network vectors -> {ROOT / 'kernels'}, {ROOT / 'network'}")
