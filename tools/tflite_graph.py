"""Reads a TFLite flatbuffer into plain Python: tensors, operators and constant data, numpy only.

Uses the pinned pure-Python `tflite` package (flatbuffer accessors generated from TFLite's schema;
no TensorFlow). Weights stored as float16 behind DEQUANTIZE ops (MediaPipe's models) are widened to
float32 here, exactly as TFLite's DEQUANTIZE does, so a graph reads as if it were float32 throughout:
`Graph.const(name)` returns the float32 value behind a DEQUANTIZE output or a float32/int32 buffer.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import tflite
from tflite.BuiltinOperator import BuiltinOperator
from tflite.TensorType import TensorType

OP_NAMES = {v: k for k, v in vars(BuiltinOperator).items() if not k.startswith("_")}
DTYPES = {TensorType.FLOAT32: np.float32, TensorType.FLOAT16: np.float16, TensorType.INT32: np.int32,
          TensorType.INT8: np.int8, TensorType.UINT8: np.uint8, TensorType.INT64: np.int64}
# Option tables by op, read into dicts of their scalar fields.
OPTION_CLASSES = {
    "CONV_2D": tflite.Conv2DOptions, "DEPTHWISE_CONV_2D": tflite.DepthwiseConv2DOptions,
    "MAX_POOL_2D": tflite.Pool2DOptions, "AVERAGE_POOL_2D": tflite.Pool2DOptions,
    "ADD": tflite.AddOptions, "MUL": tflite.MulOptions, "SUB": tflite.SubOptions,
    "CONCATENATION": tflite.ConcatenationOptions, "STRIDED_SLICE": tflite.StridedSliceOptions,
}
PADDING = {0: "same", 1: "valid"}
ACTIVATIONS = {0: None, 1: "relu", 3: "relu6", 4: "tanh"}


class GraphError(Exception):
    pass


@dataclass
class Tensor:
    name: str
    shape: tuple
    dtype: type
    data: np.ndarray | None  # constant buffer, None for activations


@dataclass
class Op:
    index: int
    name: str
    inputs: list[int]
    outputs: list[int]
    options: dict = field(default_factory=dict)


class Graph:
    def __init__(self, buf: bytes):
        model = tflite.Model.GetRootAsModel(buf, 0)
        if model.SubgraphsLength() != 1:
            raise GraphError(f"expected one subgraph, got {model.SubgraphsLength()}")
        g = model.Subgraphs(0)
        self.description = (model.Description() or b"").decode()
        self.metadata = {model.Metadata(i).Name().decode(): model.Buffers(model.Metadata(i).Buffer()).DataAsNumpy()
                         for i in range(model.MetadataLength())}
        self.tensors: list[Tensor] = []
        for i in range(g.TensorsLength()):
            t = g.Tensors(i)
            if t.Type() not in DTYPES:
                raise GraphError(f"tensor {t.Name().decode()}: unsupported type {t.Type()}")
            if t.Quantization() is not None and t.Quantization().ScaleLength() > 0:
                raise GraphError(f"tensor {t.Name().decode()}: integer-quantised tensors are not supported")
            buffer = model.Buffers(t.Buffer())
            data = None
            if buffer.DataLength() > 0:
                data = np.frombuffer(buffer.DataAsNumpy().tobytes(), DTYPES[t.Type()])
                data = data.reshape(tuple(t.ShapeAsNumpy()) if t.ShapeLength() else ())
            shape = tuple(int(d) for d in t.ShapeAsNumpy()) if t.ShapeLength() else ()
            self.tensors.append(Tensor(t.Name().decode(), shape, DTYPES[t.Type()], data))
        self.inputs = [int(i) for i in g.InputsAsNumpy()]
        self.outputs = [int(i) for i in g.OutputsAsNumpy()]
        self.ops: list[Op] = []
        for k in range(g.OperatorsLength()):
            o = g.Operators(k)
            code = model.OperatorCodes(o.OpcodeIndex())
            name = OP_NAMES.get(max(code.BuiltinCode(), code.DeprecatedBuiltinCode()), "UNKNOWN")
            if name == "CUSTOM":
                name = "CUSTOM:" + code.CustomCode().decode()
            self.ops.append(Op(k, name, [int(i) for i in o.InputsAsNumpy()], [int(i) for i in o.OutputsAsNumpy()],
                               read_options(o, name)))
        # DEQUANTIZE of a float16 constant -> float32 constant under the output's name.
        self.consts: dict[int, np.ndarray] = {}
        for i, t in enumerate(self.tensors):
            if t.data is not None and t.dtype in (np.float32, np.int32):
                self.consts[i] = t.data
        for op in self.ops:
            if op.name == "DEQUANTIZE":
                src = self.tensors[op.inputs[0]]
                if src.data is None or src.dtype != np.float16:
                    raise GraphError(f"DEQUANTIZE of a non-float16 or non-constant tensor {src.name}")
                self.consts[op.outputs[0]] = src.data.astype(np.float32)
        self.compute = [op for op in self.ops if op.name != "DEQUANTIZE"]
        self.by_name = {t.name: i for i, t in enumerate(self.tensors)}

    def const(self, index: int) -> np.ndarray:
        if index not in self.consts:
            raise GraphError(f"tensor {self.tensors[index].name} is not a constant")
        return self.consts[index]

    def is_const(self, index: int) -> bool:
        return index in self.consts

    def const_named(self, fragment: str) -> np.ndarray:
        """The one constant whose name contains `fragment` (the MLP-mixer template reads weights by name)."""
        hits = [i for i in self.consts if fragment in self.tensors[i].name]
        if len(hits) != 1:
            raise GraphError(f"{len(hits)} constants named like {fragment!r}")
        return self.consts[hits[0]]

    def op_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for op in self.ops:
            counts[op.name] = counts.get(op.name, 0) + 1
        return counts


def read_options(o, name: str) -> dict:
    cls = OPTION_CLASSES.get(name)
    table = o.BuiltinOptions()
    if cls is None or table is None:
        return {}
    opts = cls()
    opts.Init(table.Bytes, table.Pos)
    out = {}
    for attr in dir(opts):
        if attr[0].isupper() and not attr.startswith(("Init", "GetRoot")) and callable(getattr(opts, attr)):
            try:
                v = getattr(opts, attr)()
            except TypeError:
                continue
            if isinstance(v, (int, float, bool)):
                out[attr] = v
    return out
