"""Exports the networks of a model package to ONNX with the onnx helper API (no torch), for the
networks benchmark (onnxruntime as the peer) and as a second check of the package's manifest.

    .venv/bin/python tools/export_onnx.py [--package models/default] [--out .cache/onnx]

The graphs are built from the manifest's blocks and the package's safetensors, so running them in
onnxruntime against the numpy references (which use the ORIGINAL weights) checks the converter's
block declarations, layouts and tensor names as well. ONNX graphs take NCHW input (onnxruntime's
native layout; the manifest's NHWC is the Swift engine's) with a free batch axis; P-Net also has a
free height and width. Batch norms stay BatchNormalization nodes (onnxruntime fuses them itself).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, str(Path(__file__).resolve().parent))
import safetensors_io  # noqa: E402

OPSET = 17
NETWORKS = ["pnet", "rnet", "onet", "expression", "efficientnet_lite0"]


class _Builder:
    def __init__(self, tensors: dict[str, np.ndarray]):
        self.tensors = tensors
        self.nodes: list = []
        self.inits: dict[str, np.ndarray] = {}
        self.count = 0

    def init(self, name: str, array: np.ndarray | None = None) -> str:
        if name not in self.inits:
            self.inits[name] = np.asarray(self.tensors[name] if array is None else array, np.float32)
        return name

    def node(self, op: str, inputs: list[str], name: str | None = None, **attrs) -> str:
        self.count += 1
        out = name or f"_t{self.count}"
        self.nodes.append(helper.make_node(op, inputs, [out], name=f"n{self.count}_{op}", **attrs))
        return out


def _pair(v):
    return [v, v] if isinstance(v, int) else list(v)


def _pads(pad):
    """ONNX attributes for a manifest `pad` (valid / same / n / [ph, pw] / [t, l, b, r])."""
    if pad in (None, "valid"):
        return {}
    if pad == "same":
        return {"auto_pad": "SAME_UPPER"}  # TensorFlow 'same': the odd pixel at the bottom/right
    if isinstance(pad, int):
        return {"pads": [pad] * 4}
    if len(pad) == 2:
        return {"pads": [pad[0], pad[1], pad[0], pad[1]]}
    top, left, bottom, right = pad
    return {"pads": [top, left, bottom, right]}


def _activation(b: _Builder, x: str, act: str | None) -> str:
    if act is None:
        return x
    if act == "relu":
        return b.node("Relu", [x])
    if act == "relu6":
        return b.node("Clip", [x, b.init("_zero", np.array(0, np.float32)), b.init("_six", np.array(6, np.float32))])
    raise ValueError(f"activation {act} not exported")


def network_to_onnx(manifest: dict, net_name: str, tensors: dict[str, np.ndarray]) -> onnx.ModelProto:
    net = manifest["networks"][net_name]
    b = _Builder(tensors)
    inp = net["inputs"][0]
    h, w, c = inp["shape"]
    graph_input = helper.make_tensor_value_info(inp["name"], TensorProto.FLOAT,
                                                ["N", c, h if h is not None else "H", w if w is not None else "W"])
    values = {inp["name"]: inp["name"]}
    rank = {inp["name"]: 4}
    prev = inp["name"]
    for i, blk in enumerate(net["blocks"]):
        op, name = blk["op"], blk.get("name", f"#{i}")
        ins = [values[blk["input"]]] if "input" in blk else [values[n] for n in blk["inputs"]] if "inputs" in blk \
            else [values[prev]]
        r = rank[blk["input"]] if "input" in blk else rank[blk["inputs"][0]] if "inputs" in blk else rank[prev]
        x = ins[0]
        if op == "conv2d":
            wt = tensors[blk["weight"]]
            args = [x, b.init(blk["weight"])] + ([b.init(blk["bias"])] if blk.get("bias") else [])
            y = b.node("Conv", args, kernel_shape=list(wt.shape[2:]), strides=_pair(blk.get("stride", 1)),
                       group=blk.get("groups", 1), dilations=_pair(blk.get("dilation", 1)),
                       **_pads(blk.get("pad")))
            if "bn" in blk:
                bn, cout = blk["bn"], wt.shape[0]
                scale = b.init(bn["weight"]) if "weight" in bn else b.init(f"_ones{cout}", np.ones(cout, np.float32))
                bias = b.init(bn["bias"]) if "bias" in bn else b.init(f"_zeros{cout}", np.zeros(cout, np.float32))
                y = b.node("BatchNormalization", [y, scale, bias, b.init(bn["mean"]), b.init(bn["var"])],
                           epsilon=float(bn.get("eps", 1e-5)))
            y = _activation(b, y, blk.get("activation"))
        elif op == "maxpool":
            k = _pair(blk["kernel"])
            y = b.node("MaxPool", [x], kernel_shape=k, strides=_pair(blk.get("stride", 1)),
                       ceil_mode=int(bool(blk.get("ceil", False))), **_pads(blk.get("pad")))
        elif op == "prelu":
            slope = tensors[blk["slope"]]
            shaped = slope.reshape(-1, 1, 1) if r == 4 else slope
            y = b.node("PRelu", [x, b.init(blk["slope"] + (".chw" if r == 4 else ""), shaped)])
        elif op == "softmax":
            axis = blk.get("axis", -1)
            if axis not in (-1, r - 1):
                raise ValueError(f"{name}: softmax axis {axis} not exported")
            y = b.node("Softmax", [x], axis=1)  # NHWC channels (last) = NCHW axis 1; [N, F] axis 1
        elif op == "linear":
            args = [x, b.init(blk["weight"])] + ([b.init(blk["bias"])] if blk.get("bias") else [])
            y = b.node("Gemm", args, transB=1)
            y = _activation(b, y, blk.get("activation"))
        elif op == "flatten":
            perm = {"nwhc": [0, 3, 2, 1], "nhwc": [0, 2, 3, 1], "nchw": [0, 1, 2, 3]}[blk.get("order", "nhwc")]
            y = b.node("Flatten", [b.node("Transpose", [x], perm=perm)], axis=1)
        elif op == "global_avg_pool":
            y = b.node("Flatten", [b.node("GlobalAveragePool", [x])], axis=1)
        elif op == "add":
            y = b.node("Add", ins)
            y = _activation(b, y, blk.get("activation"))
        elif op in ("relu", "relu6"):
            y = _activation(b, x, op)
        else:
            raise ValueError(f"{net_name}: block op {op} not exported")
        values[name] = y
        flat = op in ("flatten", "global_avg_pool", "linear") or (op in ("softmax", "prelu", "add") and r == 2)
        rank[name] = 2 if flat else r
        prev = name
    outputs = net.get("outputs") or [{"name": prev, "block": prev}]
    graph_outputs = []
    for o in outputs:
        o = {"name": o, "block": o} if isinstance(o, str) else o
        b.nodes.append(helper.make_node("Identity", [values[o["block"]]], [o["name"]], name=f"out_{o['name']}"))
        graph_outputs.append(helper.make_tensor_value_info(o["name"], TensorProto.FLOAT, [None] * rank[o["block"]]))
    graph = helper.make_graph(b.nodes, f"{manifest['name']}.{net_name}", [graph_input], graph_outputs,
                              [numpy_helper.from_array(v, k) for k, v in b.inits.items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="affectd tools/export_onnx.py")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def load_package(package: Path) -> tuple[dict, dict[str, dict[str, np.ndarray]]]:
    manifest = json.loads((package / "manifest.json").read_text())
    files = {f["path"]: safetensors_io.load(package / f["path"])[0] for f in manifest["files"]}
    return manifest, files


def export(package: Path, out: Path, names=NETWORKS) -> list[Path]:
    manifest, files = load_package(package)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for n in names:
        model = network_to_onnx(manifest, n, files[manifest["networks"][n]["file"]])
        path = out / f"{n}.onnx"
        onnx.save(model, str(path))
        written.append(path)
    return written


def main() -> int:
    repo = Path(__file__).resolve().parents[1]
    ap = argparse.ArgumentParser(description="Exports a model package's networks to ONNX.")
    ap.add_argument("--package", type=Path, default=repo / "models" / "default")
    ap.add_argument("--out", type=Path, default=repo / ".cache" / "onnx")
    args = ap.parse_args()
    if not (args.package / "manifest.json").is_file():
        print(f"error: no model package at {args.package} (run `make setup`)", file=sys.stderr)
        return 1
    for p in export(args.package, args.out):
        print(p)
    return 0


if __name__ == "__main__":
    sys.exit(main())
