"""MediaPipe Face Landmarker networks (TFLite) -> manifest blocks + float32 tensors (docs/model-package.md).

`face_detector.tflite` (BlazeFace short range: 896 anchors' boxes, 6 keypoints and scores) and
`face_landmarks_detector.tflite` (478 3-D landmarks) are plain conv nets, translated op by op;
`face_blendshapes.tflite` (52 scores from 146 landmarks) is an MLP-Mixer whose TFLite graph spells
layer norms out as MEAN/SQUARED_DIFFERENCE/RSQRT/MUL chains, so it is rebuilt from its weights by
name (`blendshapes_network`) and its op list is checked against what the template assumes.
All three take float16 weights behind DEQUANTIZE, widened to float32 (tflite_graph.py).
"""
from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path

import numpy as np
from tflite_graph import ACTIVATIONS, PADDING, Graph, GraphError

TOOLS = Path(__file__).resolve().parent
BLENDSHAPE_DATA = TOOLS / "data" / "face_blendshapes.json"
LANDMARKS_MEMBER = "face_landmarks_detector.tflite"
BLENDSHAPES_MEMBER = "face_blendshapes.tflite"
LANDMARKS_SIZE = 256
# TFLite output tensor -> package output. The detector's metadata lists face_landmarks, presence
# and tongue_out in this order; MediaPipe applies the sigmoid to the presence logit itself.
LANDMARK_OUTPUTS = {"Identity": "landmarks", "Identity_1": "presence_logit", "Identity_2": "tongue_out"}
DETECTOR_MEMBER = "face_detector.tflite"
DETECTOR_SIZE = 128
DETECTOR_OUTPUTS = {"regressors": "regressors", "classificators": "classificators"}


def read_task(path: Path) -> dict[str, bytes]:
    """The members of a .task bundle (a zip of TFLite files and a geometry protobuf)."""
    with zipfile.ZipFile(path) as z:
        return {n: z.read(n) for n in z.namelist()}


def model_metadata(graph: Graph) -> dict:
    """The printable strings of the TFLITE_METADATA buffer (name, author, version, output descriptions)."""
    raw = graph.metadata.get("TFLITE_METADATA")
    if raw is None:
        return {}
    strings = [s.decode() for s in re.findall(rb"[ -~]{4,}", raw.tobytes())]
    return {"strings": strings}


def _activation(options: dict) -> dict:
    code = options.get("FusedActivationFunction", 0)
    if code not in ACTIVATIONS:
        raise GraphError(f"fused activation {code} is not supported")
    return {"activation": ACTIVATIONS[code]} if ACTIVATIONS[code] else {}


def conv_network(graph: Graph, prefix: str, outputs: dict[str, str], image: dict) -> tuple[dict, dict[str, np.ndarray]]:
    """Op-by-op translation of a TFLite conv net (NHWC): CONV_2D, DEPTHWISE_CONV_2D, PRELU, ADD, RELU
    (fused into the ADD or conv before it when that is its only reader), MAX_POOL_2D, PAD (channels),
    LOGISTIC, RESHAPE (flatten: NHWC order is TFLite's row-major order) and CONCATENATION of reshaped
    [1, n, k] heads on axis 1 (the flattened rows concatenated give the same memory order).
    `outputs` maps TFLite output tensor names to package output names; `image` is the input entry."""
    tensors: dict[str, np.ndarray] = {}
    blocks: list[dict] = []
    names: dict[int, str] = {}
    (inp,) = graph.inputs
    names[inp] = "image"
    readers: dict[int, int] = {}
    for op in graph.compute:
        for i in op.inputs:
            readers[i] = readers.get(i, 0) + 1
    producer: dict[str, dict] = {}

    def value(i: int) -> str:
        if i not in names:
            raise GraphError(f"tensor {graph.tensors[i].name} read before it is made")
        return names[i]

    for op in graph.compute:
        o = op.options
        if op.name == "RELU":
            src = producer.get(names.get(op.inputs[0], ""))
            if src is not None and src["op"] in ("conv2d", "add") and "activation" not in src \
                    and readers[op.inputs[0]] == 1 and op.inputs[0] not in graph.outputs:
                src["activation"] = "relu"
                names[op.outputs[0]] = src["name"]
                continue
        name = f"b{len(blocks)}"
        block: dict = {"op": None, "name": name}
        block["input"] = value(op.inputs[0])
        if op.name in ("CONV_2D", "DEPTHWISE_CONV_2D"):
            w = graph.const(op.inputs[1])
            if op.name == "CONV_2D":
                weight = w.transpose(0, 3, 1, 2)  # OHWI -> OIHW
            else:
                if w.shape[0] != 1 or o.get("DepthMultiplier", 1) != 1:
                    raise GraphError("depthwise conv with a channel multiplier is not supported")
                weight = w[0].transpose(2, 0, 1)[:, None]  # [1, kh, kw, C] -> [C, 1, kh, kw]
                block["groups"] = int(weight.shape[0])
            tensors[f"{prefix}.{name}.weight"] = weight
            block.update(op="conv2d", weight=f"{prefix}.{name}.weight", stride=[o["StrideH"], o["StrideW"]],
                         dilation=[o["DilationHFactor"], o["DilationWFactor"]], pad=PADDING[o["Padding"]],
                         **_activation(o))
            if len(op.inputs) > 2 and op.inputs[2] >= 0:
                tensors[f"{prefix}.{name}.bias"] = graph.const(op.inputs[2])
                block["bias"] = f"{prefix}.{name}.bias"
        elif op.name == "PRELU":
            tensors[f"{prefix}.{name}.slope"] = graph.const(op.inputs[1]).reshape(-1)
            block.update(op="prelu", slope=f"{prefix}.{name}.slope")
        elif op.name == "ADD":
            del block["input"]
            block.update(op="add", inputs=[value(op.inputs[0]), value(op.inputs[1])], **_activation(o))
        elif op.name == "RELU":
            block.update(op="relu")
        elif op.name == "MAX_POOL_2D":
            block.update(op="maxpool", kernel=[o["FilterHeight"], o["FilterWidth"]],
                         stride=[o["StrideH"], o["StrideW"]], pad=PADDING[o["Padding"]])
            if o.get("FusedActivationFunction", 0):
                raise GraphError("max pool with a fused activation")
        elif op.name == "PAD":
            pads = graph.const(op.inputs[1])
            if pads.shape != (4, 2) or pads[:3].any():
                raise GraphError(f"PAD other than on channels: {pads.tolist()}")
            block.update(op="pad_channels", before=int(pads[3, 0]), after=int(pads[3, 1]))
        elif op.name == "LOGISTIC":
            block.update(op="sigmoid")
        elif op.name == "RESHAPE":
            out_shape = graph.tensors[op.outputs[0]].shape
            if len(out_shape) not in (2, 3) or (len(out_shape) == 3 and out_shape[0] != 1):
                raise GraphError(f"RESHAPE to {out_shape}: only flattening is supported")
            block.update(op="flatten")
        elif op.name == "CONCATENATION":
            shapes = [graph.tensors[i].shape for i in op.inputs]
            if o.get("Axis") != 1 or any(len(s) != 3 or s[2] != shapes[0][2] for s in shapes) \
                    or o.get("FusedActivationFunction", 0):
                raise GraphError(f"CONCATENATION of {shapes} on axis {o.get('Axis')}: only [1, n, k] rows")
            del block["input"]
            block.update(op="concat", axis=1, inputs=[value(i) for i in op.inputs])
        else:
            raise GraphError(f"op {op.name} is not supported in a conv network")
        blocks.append(block)
        producer[name] = block
        names[op.outputs[0]] = name

    declared = []
    for i in graph.outputs:
        block = value(i)
        if len(graph.tensors[i].shape) == 4:  # [1, 1, 1, n] -> [N, n]
            flat = f"b{len(blocks)}"
            blocks.append({"op": "flatten", "name": flat, "input": block})
            block = flat
        declared.append({"name": outputs[graph.tensors[i].name], "block": block})
    return {"inputs": [image], "blocks": blocks, "outputs": declared}, tensors


def landmarks_network(graph: Graph, prefix: str) -> tuple[dict, dict[str, np.ndarray]]:
    """The landmark detector: 256x256 RGB in [0, 1] -> 478 landmarks, presence logit, tongue out."""
    return conv_network(graph, prefix, LANDMARK_OUTPUTS,
                        {"name": "image", "shape": [LANDMARKS_SIZE, LANDMARKS_SIZE, 3], "color": "RGB",
                         "resize": "bilinear", "normalize": {"mean": [0.0] * 3, "std": [255.0] * 3}})


def detector_network(graph: Graph, prefix: str) -> tuple[dict, dict[str, np.ndarray]]:
    """BlazeFace short range: 128x128 RGB in [-1, 1] (MediaPipe's letterboxed frame) -> per anchor
    (896) 16 raw box/keypoint values and a score logit, flattened to [N, 896 * 16] and [N, 896]."""
    (inp,) = graph.inputs
    if graph.tensors[inp].shape != (1, DETECTOR_SIZE, DETECTOR_SIZE, 3):
        raise GraphError(f"face detector input {graph.tensors[inp].shape}, expected (1, {DETECTOR_SIZE}, "
                         f"{DETECTOR_SIZE}, 3)")
    return conv_network(graph, prefix, DETECTOR_OUTPUTS,
                        {"name": "image", "shape": [DETECTOR_SIZE, DETECTOR_SIZE, 3], "color": "RGB",
                         "resize": "bilinear", "normalize": {"mean": [127.5] * 3, "std": [127.5] * 3}})


# The op multiset of the MLP-Mixer graph the template below assumes (4 mixer blocks).
BLENDSHAPE_OPS = {"MEAN": 18, "SUB": 1, "MUL": 26, "SUM": 1, "SQRT": 1, "DIV": 1, "RESHAPE": 2, "STRIDED_SLICE": 4,
                  "TRANSPOSE": 10, "CONV_2D": 19, "CONCATENATION": 1, "NEG": 8, "SQUARED_DIFFERENCE": 8,
                  "ADD": 24, "RSQRT": 8, "LOGISTIC": 1}
MIXER = "GhumMarkerPoserMlpMixerGeneral"


def blendshapes_network(graph: Graph, prefix: str) -> tuple[dict, dict[str, np.ndarray]]:
    """The MLP-Mixer as blocks over [N, tokens, channels]: normalise the 146 points (centre, divide
    by the mean distance to the centre, times the graph's constant), mix the points into 96 tokens,
    embed 2 -> 64 channels, prepend the learned extra token, 4 mixer blocks (layer norm -> token
    MLP -> residual, layer norm -> channel MLP -> residual), read the extra token, 64 -> 52, sigmoid."""
    counts = {k: v for k, v in graph.op_counts().items() if k != "DEQUANTIZE"}
    if counts != BLENDSHAPE_OPS:
        raise GraphError(f"blendshape graph differs from the MLP-Mixer template: {counts}")
    tensors: dict[str, np.ndarray] = {}

    def conv_as_linear(fragment: str, key: str) -> dict:
        w = graph.const_named(f"{fragment}/Conv2D_dequantize")
        b = graph.const_named(f"{fragment}/BiasAdd/ReadVariableOp_dequantize")
        if w.shape[1:3] != (1, 1):
            raise GraphError(f"{fragment}: expected a 1x1 conv, got {w.shape}")
        tensors[f"{prefix}.{key}.weight"] = w[:, 0, 0, :]
        tensors[f"{prefix}.{key}.bias"] = b
        return {"op": "linear", "weight": f"{prefix}.{key}.weight", "bias": f"{prefix}.{key}.bias"}

    scale = graph.const_named(f"{MIXER}/tf.math.truediv/truediv/y_dequantize")
    eps = graph.const_named("MixerBlock_0/layer_norm1/batchnorm/add/y_dequantize")
    token = graph.const_named("AddExtraTokens/strided_slice_1_dequantize")
    tensors[f"{prefix}.extra_token"] = token.reshape(-1)
    blocks: list[dict] = [
        {"op": "normalize_points", "name": "normalized", "scale": float(scale)},
        {"op": "transpose", "name": "points_t"},
        {"name": "tokens_t", **conv_as_linear(f"{MIXER}/conv2d", "point_mixing")},
        {"op": "transpose", "name": "tokens"},
        {"name": "embedded", **conv_as_linear("MLPMixer/input_tokens_embedding", "embedding")},
        {"op": "prepend_token", "name": "x0", "token": f"{prefix}.extra_token"},
    ]
    x = "x0"
    for i in range(4):
        blk = f"MLPMixer/MixerBlock_{i}"
        norms = {}
        for norm in ("layer_norm1", "layer_norm2"):
            norms[norm] = f"{prefix}.mixer{i}.{norm}.weight"
            tensors[norms[norm]] = graph.const_named(f"{blk}/{norm}/batchnorm/mul/ReadVariableOp_dequantize")
        m = f"m{i}"
        relu = {"activation": "relu"}
        blocks += [
            {"op": "layer_norm", "name": f"{m}_ln1", "input": x, "weight": norms["layer_norm1"], "eps": float(eps)},
            {"op": "transpose", "name": f"{m}_ln1_t"},
            {"name": f"{m}_tok1", **conv_as_linear(f"{blk}/mlp_token_mixing/Mlp_1", f"mixer{i}.token1"), **relu},
            {"name": f"{m}_tok2", **conv_as_linear(f"{blk}/mlp_token_mixing/Mlp_2", f"mixer{i}.token2")},
            {"op": "transpose", "name": f"{m}_tok"},
            {"op": "add", "name": f"{m}_res1", "inputs": [f"{m}_tok", x]},
            {"op": "layer_norm", "name": f"{m}_ln2", "weight": norms["layer_norm2"], "eps": float(eps)},
            {"name": f"{m}_ch1", **conv_as_linear(f"{blk}/mlp_channel_mixing/Mlp_1", f"mixer{i}.channel1"), **relu},
            {"name": f"{m}_ch2", **conv_as_linear(f"{blk}/mlp_channel_mixing/Mlp_2", f"mixer{i}.channel2")},
            {"op": "add", "name": f"{m}_res2", "inputs": [f"{m}_ch2", f"{m}_res1"]},
        ]
        x = f"{m}_res2"
    blocks += [
        {"op": "slice", "name": "extra", "axis": 1, "start": 0, "length": 1},
        {"name": "logits", **conv_as_linear(f"{MIXER}/output_blendweights", "output"), "activation": "sigmoid"},
        {"op": "flatten", "name": "scores"},
    ]
    data = json.loads(BLENDSHAPE_DATA.read_text())
    n_points = len(data["landmark_subset"])
    (inp,) = graph.inputs
    if graph.tensors[inp].shape != (1, n_points, 2):
        raise GraphError(f"blendshape input {graph.tensors[inp].shape}, expected (1, {n_points}, 2)")
    return {"inputs": [{"name": "points", "shape": [n_points, 2]}], "blocks": blocks,
            "outputs": [{"name": "blendshapes", "block": "scores"}],
            "labels": {"blendshapes": data["names"]}}, tensors
