"""ONNX graphs (onnx.helper) of the sequence blocks, for the onnxruntime side of the benchmarks.

- LSTM: ONNX's native LSTM op. ONNX orders the gates i, o, f, c; PyTorch i, f, g, o, so the
  weight rows are permuted, and the two PyTorch biases become ONNX's Wb and Rb.
- Mamba: ONNX has no selective scan. Everything that is not recurrent (projections, depthwise
  causal conv as a grouped Conv, softplus, exp(delta*A), delta*B*u) runs as whole-sequence ops;
  only h_t = dA_t * h_{t-1} + dBu_t, y_t = h_t . C_t is sequential, expressed either as an ONNX
  Scan (variant "scan") or unrolled into primitive ops (variant "unroll"). The benchmark runs
  both and compares against onnxruntime's faster one.
Graphs take x as [B, T, C] like the Swift ops; tests/integration checks them against the numpy
references so both engines provably compute the same function.
"""
from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17


def _init(name: str, a: np.ndarray) -> onnx.TensorProto:
    return numpy_helper.from_array(np.ascontiguousarray(a, dtype=np.float32), name)


def _i64(name: str, values) -> onnx.TensorProto:
    return numpy_helper.from_array(np.asarray(values, dtype=np.int64), name)


def _model(nodes, inputs, outputs, inits) -> onnx.ModelProto:
    graph = helper.make_graph(nodes, "g", inputs, outputs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def _pytorch_to_onnx_gates(a: np.ndarray) -> np.ndarray:
    """Rows [i; f; g; o] (PyTorch) -> [i; o; f; c] (ONNX), along axis 0."""
    i, f, g, o = np.split(a, 4, axis=0)
    return np.concatenate([i, o, f, g], axis=0)


def lstm(w: dict[str, np.ndarray], batch: int, steps: int, input_size: int, hidden: int,
         bidirectional: bool = False) -> onnx.ModelProto:
    """Single-layer nn.LSTM(batch_first=True): x [B, T, I] -> y [B, T, dirs*H]."""
    sfx = [""] + (["_reverse"] if bidirectional else [])
    W = np.stack([_pytorch_to_onnx_gates(w["weight_ih_l0" + s]) for s in sfx])
    R = np.stack([_pytorch_to_onnx_gates(w["weight_hh_l0" + s]) for s in sfx])
    Bias = np.stack([np.concatenate([_pytorch_to_onnx_gates(w["bias_ih_l0" + s]),
                                     _pytorch_to_onnx_gates(w["bias_hh_l0" + s])]) for s in sfx])
    dirs = len(sfx)
    nodes = [
        helper.make_node("Transpose", ["x"], ["x_tbi"], perm=[1, 0, 2]),
        helper.make_node("LSTM", ["x_tbi", "W", "R", "B"], ["y_tdbh"], hidden_size=hidden,
                         direction="bidirectional" if bidirectional else "forward"),
        helper.make_node("Transpose", ["y_tdbh"], ["y_btdh"], perm=[2, 0, 1, 3]),
        helper.make_node("Reshape", ["y_btdh", "y_shape"], ["y"]),
    ]
    return _model(
        nodes,
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [batch, steps, input_size])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [batch, steps, dirs * hidden])],
        [_init("W", W), _init("R", R), _init("B", Bias), _i64("y_shape", [batch, steps, dirs * hidden])])


def _scan_body(d_inner: int, d_state: int) -> onnx.GraphProto:
    """One step: h = dA_t * h + dBu_t; y_t = h @ C_t. Shapes per batch row: h [B, Di, N]."""
    nodes = [
        helper.make_node("Mul", ["dA_t", "h_in"], ["decayed"]),
        helper.make_node("Add", ["decayed", "dBu_t"], ["h_out"]),
        helper.make_node("MatMul", ["h_out", "C_t"], ["y_t3"]),          # [B, Di, N] @ [B, N, 1]
        helper.make_node("Squeeze", ["y_t3", "last"], ["y_t"]),
    ]
    f = TensorProto.FLOAT
    return helper.make_graph(
        nodes, "step",
        [helper.make_tensor_value_info("h_in", f, ["B", d_inner, d_state]),
         helper.make_tensor_value_info("dA_t", f, ["B", d_inner, d_state]),
         helper.make_tensor_value_info("dBu_t", f, ["B", d_inner, d_state]),
         helper.make_tensor_value_info("C_t", f, ["B", d_state, 1])],
        [helper.make_tensor_value_info("h_out", f, ["B", d_inner, d_state]),
         helper.make_tensor_value_info("y_t", f, ["B", d_inner])],
        [_i64("last", [-1])])


def mamba(w: dict[str, np.ndarray], batch: int, steps: int, d_model: int, d_state: int,
          d_conv: int, expand: int, dt_rank: int, variant: str = "scan") -> onnx.ModelProto:
    """mamba_ssm Mamba block: x [B, L, D] -> y [B, L, D]."""
    di, N, R, L = expand * d_model, d_state, dt_rank, steps
    n = helper.make_node
    nodes = [
        n("MatMul", ["x", "in_proj_T"], ["xz"]),
        n("Split", ["xz", "split_xz"], ["u_pre", "z"], axis=2),
        n("Transpose", ["u_pre"], ["u_bdl"], perm=[0, 2, 1]),
        n("Conv", ["u_bdl", "conv_w", "conv_b"], ["uc_bdl"], group=di, kernel_shape=[d_conv],
          pads=[d_conv - 1, 0]),
        n("Transpose", ["uc_bdl"], ["uc"], perm=[0, 2, 1]),
        n("Sigmoid", ["uc"], ["uc_sig"]), n("Mul", ["uc", "uc_sig"], ["u"]),          # SiLU
        n("MatMul", ["u", "x_proj_T"], ["x_dbl"]),
        n("Split", ["x_dbl", "split_dbl"], ["dt_r", "Bm", "Cm"], axis=2),
        n("MatMul", ["dt_r", "dt_proj_T"], ["dt_nb"]),
        n("Add", ["dt_nb", "dt_bias"], ["dt_pre"]),
        n("Softplus", ["dt_pre"], ["delta"]),                                          # [B, L, Di]
        n("Unsqueeze", ["delta", "last"], ["delta4"]),
        n("Mul", ["delta4", "A"], ["dAlog"]), n("Exp", ["dAlog"], ["dA"]),              # [B, L, Di, N]
        n("Mul", ["delta", "u"], ["du"]), n("Unsqueeze", ["du", "last"], ["du4"]),
        n("Unsqueeze", ["Bm", "axis2"], ["B4"]), n("Mul", ["du4", "B4"], ["dBu"]),     # [B, L, Di, N]
        n("Unsqueeze", ["Cm", "last"], ["C4"]),                                        # [B, L, N, 1]
    ]
    inits = [
        _init("in_proj_T", w["in_proj.weight"].T), _i64("split_xz", [di, di]),
        _init("conv_w", w["conv1d.weight"]), _init("conv_b", w["conv1d.bias"]),
        _init("x_proj_T", w["x_proj.weight"].T), _i64("split_dbl", [R, N, N]),
        _init("dt_proj_T", w["dt_proj.weight"].T), _init("dt_bias", w["dt_proj.bias"]),
        _init("A", -np.exp(w["A_log"].astype(np.float64))), _init("D", w["D"]),
        _init("out_proj_T", w["out_proj.weight"].T),
        _i64("last", [-1]), _i64("axis2", [2]),
    ]
    if variant == "scan":
        inits.append(_init("h0", np.zeros((batch, di, N))))
        # Scan iterates over axis 1 (time) of its scan inputs; outputs stack along axis 1.
        nodes.append(n("Scan", ["h0", "dA", "dBu", "C4"], ["h_last", "ys"], num_scan_inputs=3,
                       body=_scan_body(di, N), scan_input_axes=[1, 1, 1], scan_output_axes=[1]))
    elif variant == "unroll":
        nodes += [n("Split", ["dA", "split_L"], [f"dA{t}" for t in range(L)], axis=1),
                  n("Split", ["dBu", "split_L"], [f"dBu{t}" for t in range(L)], axis=1),
                  n("Split", ["C4", "split_L"], [f"C_{t}" for t in range(L)], axis=1)]
        inits.append(_i64("split_L", [1] * L))
        h = None
        for t in range(L):  # h_t [B, 1, Di, N]; y_t [B, 1, Di, 1]
            if h is None:
                nodes.append(n("Identity", [f"dBu{t}"], [f"h_{t}"]))
            else:
                nodes += [n("Mul", [f"dA{t}", h], [f"hd{t}"]), n("Add", [f"hd{t}", f"dBu{t}"], [f"h_{t}"])]
            h = f"h_{t}"
            nodes.append(n("MatMul", [h, f"C_{t}"], [f"y{t}"]))
        nodes += [n("Concat", [f"y{t}" for t in range(L)], ["ys4"], axis=1),
                  n("Squeeze", ["ys4", "last"], ["ys"])]
    else:
        raise ValueError(variant)
    nodes += [
        n("Mul", ["u", "D"], ["uD"]), n("Add", ["ys", "uD"], ["y_skip"]),
        n("Sigmoid", ["z"], ["z_sig"]), n("Mul", ["z", "z_sig"], ["z_silu"]),
        n("Mul", ["y_skip", "z_silu"], ["gated"]),
        n("MatMul", ["gated", "out_proj_T"], ["y"]),
    ]
    f = TensorProto.FLOAT
    return _model(nodes, [helper.make_tensor_value_info("x", f, [batch, L, d_model])],
                  [helper.make_tensor_value_info("y", f, [batch, L, d_model])], inits)


def session(model: onnx.ModelProto, threads: int):
    """An onnxruntime session with exactly `threads` intra-op threads and no inter-op pool."""
    import onnxruntime as ort
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(model.SerializeToString(), opts, providers=["CPUExecutionProvider"])
