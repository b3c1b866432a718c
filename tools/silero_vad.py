"""Silero VAD (silero-vad wheel, `silero_vad/data/silero_vad.onnx`, MIT) as an affectd network.

The ONNX file holds two models in the branches of an `If` on the sample rate; the 16 kHz one
(the branch whose STFT basis is [258, 1, 256]) is read here with the `onnx` package alone. Its
graph, per 32 ms chunk of 512 samples plus the previous chunk's last 64 samples (576 samples):
- STFT front end: reflect pad 64 on the right, a Conv1d with the fixed basis (258 filters of 256
  taps, stride 128: the real and imaginary parts of 129 bins, 4 frames), magnitude
  sqrt(re^2 + im^2) -> [129, 4];
- encoder: four Conv1d k=3 pad 1 (129->128 s1, 128->64 s2, 64->64 s2, 64->128 s1), each + ReLU -> [128];
- decoder: LSTMCell(128, 128) over the chunks (its state carries from chunk to chunk), ReLU,
  Conv1d(128, 1, 1), sigmoid -> the speech probability of the chunk.
`networks()` runs a batch of N chunks as NHWC [N, 1, 576, 1] (Conv1d = conv2d with kh = 1) up to
the encoder's [N, 128]; the caller stacks the features of all chunks into one sequence [1, N, 128]
for the LSTM network, which outputs [1, N, 1].
Weights keep PyTorch layout; Conv1d [Cout, Cin, k] gets its kh = 1 axis.
"""
from __future__ import annotations

import numpy as np
import onnx
from onnx import numpy_helper

CHUNK = 512
CONTEXT = 64
SAMPLE_RATE = 16000
PREFIX = "vad."

# tensor name in the ONNX 16 kHz branch (after its inlining prefix) -> expected shape
SHAPES = {
    "stft.forward_basis_buffer": (258, 1, 256),
    "encoder.0.reparam_conv.weight": (128, 129, 3), "encoder.0.reparam_conv.bias": (128,),
    "encoder.1.reparam_conv.weight": (64, 128, 3), "encoder.1.reparam_conv.bias": (64,),
    "encoder.2.reparam_conv.weight": (64, 64, 3), "encoder.2.reparam_conv.bias": (64,),
    "encoder.3.reparam_conv.weight": (128, 64, 3), "encoder.3.reparam_conv.bias": (128,),
    "decoder.rnn.weight_ih": (512, 128), "decoder.rnn.weight_hh": (512, 128),
    "decoder.rnn.bias_ih": (512,), "decoder.rnn.bias_hh": (512,),
    "decoder.decoder.2.weight": (1, 128, 1), "decoder.decoder.2.bias": (1,),
}


class VadConversionError(Exception):
    pass


def _constants(graph) -> list[dict[str, np.ndarray]]:
    """The Constant tensors of every subgraph (one dict per graph), names without inlining prefixes."""
    found = []

    def walk(g):
        here = {}
        for node in g.node:
            if node.op_type == "Constant":
                here[node.output[0].rsplit("__", 1)[-1]] = numpy_helper.to_array(node.attribute[0].t)
            for a in node.attribute:
                if a.type == onnx.AttributeProto.GRAPH:
                    walk(a.g)
        for init in g.initializer:
            here[init.name.rsplit("__", 1)[-1].removeprefix("model.")] = numpy_helper.to_array(init)
        found.append(here)
    walk(graph)
    return found


def read_onnx(path) -> dict[str, np.ndarray]:
    """The 16 kHz model's weights from silero_vad.onnx, shape-checked."""
    model = onnx.load(str(path))
    for consts in _constants(model.graph):
        basis = consts.get("stft.forward_basis_buffer")
        if basis is None or basis.shape != SHAPES["stft.forward_basis_buffer"]:
            continue
        out = {}
        for name, shape in SHAPES.items():
            if name not in consts:
                raise VadConversionError(f"{path}: the 16 kHz branch lacks {name}")
            if consts[name].shape != shape:
                raise VadConversionError(f"{path}: {name} has shape {consts[name].shape}, expected {shape}")
            out[name] = consts[name].astype(np.float32)
        return out
    raise VadConversionError(f"{path}: no 16 kHz branch (STFT basis [258, 1, 256]) found")


def tensors(onnx_weights: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Package tensors: Conv1d weights [Cout, Cin, k] -> [Cout, Cin, 1, k]; decoder conv -> linear [1, 128]."""
    out = {}
    for name, w in onnx_weights.items():
        if name.endswith(".weight") and w.ndim == 3 and name != "decoder.decoder.2.weight":
            w = w[:, :, None, :]
        out[PREFIX + name] = w
    out[PREFIX + "stft.forward_basis_buffer"] = onnx_weights["stft.forward_basis_buffer"][:, :, None, :]
    out[PREFIX + "decoder.decoder.2.weight"] = onnx_weights["decoder.decoder.2.weight"][:, :, 0]
    return out


def networks() -> dict[str, dict]:
    """Two networks, so a long clip's chunks can go through the encoder in bounded batches while the
    LSTM runs once over the whole sequence (its state carries across every chunk, as in silero's
    streaming use): `vad_encoder` [N, 1, 576, 1] -> [N, 128], `vad` [1, N, 128] -> [1, N, 1]."""
    def enc(k, stride):
        p = f"{PREFIX}encoder.{k}.reparam_conv."
        return {"op": "conv2d", "name": f"encoder{k}", "weight": p + "weight", "bias": p + "bias",
                "stride": [1, stride], "pad": [0, 1], "activation": "relu"}
    rnn = PREFIX + "decoder.rnn."
    encoder = {
        "inputs": [{"name": "chunks", "shape": [1, CHUNK + CONTEXT, 1], "sample_rate": SAMPLE_RATE,
                    "chunk": CHUNK, "context": CONTEXT,
                    "framing": "chunk k = samples [512k - 64, 512k + 512) of 16 kHz mono float audio in "
                               "[-1, 1], zeros before the start; the last chunk zero-padded"}],
        "blocks": [
            {"op": "reflect_pad", "name": "stft_pad", "pad": [0, 0, 0, CONTEXT]},
            {"op": "conv2d", "name": "stft", "weight": PREFIX + "stft.forward_basis_buffer", "stride": [1, 128]},
            {"op": "magnitude", "name": "spectrum"},
            enc(0, 1), enc(1, 2), enc(2, 2), enc(3, 1),
            {"op": "flatten", "name": "features"},
        ],
        "outputs": [{"name": "features", "block": "features"}],
    }
    decoder = {
        "inputs": [{"name": "features", "shape": [None, 128]}],
        "blocks": [
            {"op": "lstm", "name": "rnn", "hidden_size": 128,
             "weight_ih_l0": rnn + "weight_ih", "weight_hh_l0": rnn + "weight_hh",
             "bias_ih_l0": rnn + "bias_ih", "bias_hh_l0": rnn + "bias_hh"},
            {"op": "relu", "name": "rnn_relu"},
            {"op": "linear", "name": "speech", "weight": PREFIX + "decoder.decoder.2.weight",
             "bias": PREFIX + "decoder.decoder.2.bias", "activation": "sigmoid"},
        ],
        "outputs": [{"name": "speech", "block": "speech"}],
        "labels": {"speech": ["speech probability per 32 ms chunk (512 samples at 16 kHz)"]},
    }
    return {"vad_encoder": encoder, "vad": decoder}


def chunks(samples: np.ndarray) -> np.ndarray:
    """[N, 576] network input: each 512-sample chunk with the 64 samples before it."""
    samples = np.asarray(samples, dtype=np.float32)
    n = max(1, -(-len(samples) // CHUNK))
    padded = np.zeros(CONTEXT + n * CHUNK, dtype=np.float32)
    padded[CONTEXT:CONTEXT + len(samples)] = samples
    idx = np.arange(n)[:, None] * CHUNK + np.arange(CHUNK + CONTEXT)[None, :]
    return padded[idx]


def reference(weights: dict[str, np.ndarray], samples: np.ndarray) -> np.ndarray:
    """Numpy float64 forward of the 16 kHz model over a whole signal: the probability per chunk."""
    w = {k: v.astype(np.float64) for k, v in weights.items()}
    x = chunks(samples).astype(np.float64)
    x = np.concatenate([x, x[:, -2:-CONTEXT - 2:-1]], axis=1)  # reflect pad 64 on the right
    basis = w["stft.forward_basis_buffer"][:, 0, :]
    frames = np.stack([x[:, s:s + 256] for s in range(0, x.shape[1] - 255, 128)], axis=2)  # [N, 256, 4]
    spec = np.einsum("ck,nkt->nct", basis, frames)
    h = np.sqrt(spec[:, :129] ** 2 + spec[:, 129:] ** 2)
    for k, stride in enumerate((1, 2, 2, 1)):
        cw, cb = w[f"encoder.{k}.reparam_conv.weight"], w[f"encoder.{k}.reparam_conv.bias"]
        hp = np.pad(h, ((0, 0), (0, 0), (1, 1)))
        t_out = (hp.shape[2] - 3) // stride + 1
        h = np.stack([np.einsum("oik,nik->no", cw, hp[:, :, t * stride:t * stride + 3]) for t in range(t_out)], 2)
        h = np.maximum(h + cb[None, :, None], 0)
    feats = h[:, :, 0]
    H = 128
    hs, cs = np.zeros(H), np.zeros(H)
    out = np.empty(len(feats))
    for t, f in enumerate(feats):
        g = w["decoder.rnn.weight_ih"] @ f + w["decoder.rnn.bias_ih"] + w["decoder.rnn.weight_hh"] @ hs \
            + w["decoder.rnn.bias_hh"]
        i, fg, gg, o = (1 / (1 + np.exp(-g[:H])), 1 / (1 + np.exp(-g[H:2 * H])), np.tanh(g[2 * H:3 * H]),
                        1 / (1 + np.exp(-g[3 * H:])))
        cs = fg * cs + i * gg
        hs = o * np.tanh(cs)
        z = w["decoder.decoder.2.weight"][0, :, 0] @ np.maximum(hs, 0) + w["decoder.decoder.2.bias"][0]
        out[t] = 1 / (1 + np.exp(-z))
    return out


def onnxruntime_probs(path, samples: np.ndarray) -> np.ndarray:
    """The original model in onnxruntime, chunk by chunk with its state, as silero's OnnxWrapper runs it."""
    import onnxruntime as ort
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    sess = ort.InferenceSession(str(path), sess_options=opts, providers=["CPUExecutionProvider"])
    state = np.zeros((2, 1, 128), dtype=np.float32)
    sr = np.array(SAMPLE_RATE, dtype=np.int64)
    out = []
    for x in chunks(samples):
        p, state = sess.run(None, {"input": x[None, :], "state": state, "sr": sr})
        out.append(float(p[0, 0]))
    return np.asarray(out)
