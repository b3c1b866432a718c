"""A random-weight audio-visual model package and its numpy reference (issue 19).

    .venv/bin/python tools/reference/av_package.py --out DIR [--base models/default]

The package is the base package's detector, expression network and scene/person encoder (their
weight files copied) plus two networks with random weights from a fixed seed, in av.safetensors:

- `audio_encoder`, the shape of a VQ-MAE-AV-style audio branch: the 1 s window (16000 samples at
  16 kHz) -> reflect pad 200 -> STFT as a conv (Hann window, 400 taps, hop 160) -> magnitude ->
  64-band triangular mel filterbank (linear) -> log -> two convs over time (k 3, the second with
  stride 2) with ReLU -> global average -> linear -> 32 features;
- `va_av`, the VA head: concat(scene 1280, person 1280, face 128, expression 7, audio 32,
  audio_coverage 1) -> linear 64 + ReLU -> linear 2, output tanh.

`affect.audio` declares the window (16000 samples) and the hop of its centre grid (640 samples,
40 ms). `reference_va` recomputes the head's output per face in float64 from what the pipeline
hands it: the result's embeddings and expression posteriors, and the clip's 16 kHz mono samples.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sys
from pathlib import Path

import numpy as np

TOOLS = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(TOOLS))
import safetensors_io  # noqa: E402

SR, WINDOW, HOP = 16000, 16000, 640
TAPS, STFT_HOP, BINS, MELS, CHANNELS, FEATURES, HIDDEN = 400, 160, 201, 64, 48, 32, 64
LOG_EPS = 1e-3
BASE_NETWORKS = ["pnet", "rnet", "onet", "expression", "efficientnet_lite0"]
WIDTHS = {"scene": 1280, "person": 1280, "face": 128, "expression": 7, "audio": FEATURES, "audio_coverage": 1}
SOURCES = list(WIDTHS)  # the head's inputs, in order


def mel_filterbank() -> np.ndarray:
    """[MELS, BINS] HTK-mel triangles over 0-8 kHz (the front end a log-mel audio encoder uses)."""
    mel = lambda f: 2595 * np.log10(1 + f / 700)  # noqa: E731
    edges = 700 * (10 ** (np.linspace(mel(0), mel(SR / 2), MELS + 2) / 2595) - 1)
    freqs = np.arange(BINS) * SR / TAPS
    lo, mid, hi = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    return np.maximum(0, np.minimum((freqs - lo) / (mid - lo), (hi - freqs) / (hi - mid)))


def random_weights(seed: int = 19) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)

    def uniform(shape, fan_in, scale=1.0):
        b = scale / np.sqrt(fan_in)
        return rng.uniform(-b, b, shape).astype(np.float32)
    n = np.arange(TAPS)
    window = 0.5 - 0.5 * np.cos(2 * np.pi * n / TAPS)
    k = np.arange(BINS)[:, None]
    basis = np.concatenate([window * np.cos(2 * np.pi * k * n / TAPS), -window * np.sin(2 * np.pi * k * n / TAPS)])
    fc1 = uniform((HIDDEN, sum(WIDTHS.values())), sum(WIDTHS.values()))
    a0 = sum(WIDTHS[s] for s in SOURCES[:4])
    fc1[:, a0:] *= 8  # audio and its coverage weigh as much as the 2.7k visual features together
    return {
        "audio.stft.basis": basis[:, None, None, :].astype(np.float32),
        "audio.mel.weight": mel_filterbank().astype(np.float32),
        "audio.time1.weight": uniform((CHANNELS, MELS, 1, 3), MELS * 3),
        "audio.time1.bias": uniform(CHANNELS, MELS * 3),
        "audio.time2.weight": uniform((CHANNELS, CHANNELS, 1, 3), CHANNELS * 3),
        "audio.time2.bias": uniform(CHANNELS, CHANNELS * 3),
        "audio.out.weight": uniform((FEATURES, CHANNELS), CHANNELS, 3), "audio.out.bias": uniform(FEATURES, CHANNELS),
        "head.fc1.weight": fc1, "head.fc1.bias": uniform(HIDDEN, HIDDEN),
        "head.fc2.weight": uniform((2, HIDDEN), HIDDEN, 3), "head.fc2.bias": uniform(2, HIDDEN),
    }


def networks() -> dict:
    pad = TAPS // 2
    encoder = {"file": "av.safetensors", "inputs": [{"name": "audio", "shape": [1, WINDOW, 1]}], "blocks": [
        {"op": "reflect_pad", "name": "pad", "pad": [0, pad, 0, pad]},
        {"op": "conv2d", "name": "stft", "weight": "audio.stft.basis", "stride": [1, STFT_HOP]},
        {"op": "magnitude", "name": "magnitude"},
        {"op": "linear", "name": "mel", "weight": "audio.mel.weight"},
        {"op": "log", "name": "log_mel", "eps": LOG_EPS},
        {"op": "conv2d", "name": "time1", "weight": "audio.time1.weight", "bias": "audio.time1.bias", "pad": [0, 1],
         "activation": "relu"},
        {"op": "conv2d", "name": "time2", "weight": "audio.time2.weight", "bias": "audio.time2.bias", "pad": [0, 1],
         "stride": [1, 2], "activation": "relu"},
        {"op": "global_avg_pool", "name": "pool"},
        {"op": "linear", "name": "features", "weight": "audio.out.weight", "bias": "audio.out.bias"}],
        "outputs": [{"name": "features", "block": "features"}]}
    head = {"file": "av.safetensors", "inputs": [{"name": s, "shape": [w]} for s, w in WIDTHS.items()], "blocks": [
        {"op": "concat", "name": "x", "inputs": SOURCES},
        {"op": "linear", "name": "fc1", "weight": "head.fc1.weight", "bias": "head.fc1.bias", "activation": "relu"},
        {"op": "linear", "name": "fc2", "weight": "head.fc2.weight", "bias": "head.fc2.bias"}]}
    return {"audio_encoder": encoder, "va_av": head}


def write_package(base: Path, out: Path) -> None:
    manifest = json.loads((base / "manifest.json").read_text())
    out.mkdir(parents=True, exist_ok=True)
    nets = {n: manifest["networks"][n] for n in BASE_NETWORKS}
    files = [f for f in manifest["files"] if f["path"] in {nets[n]["file"] for n in BASE_NETWORKS}]
    for f in files:
        shutil.copyfile(base / f["path"], out / f["path"])
    safetensors_io.save(out / "av.safetensors", random_weights())
    blob = (out / "av.safetensors").read_bytes()
    files.append({"path": "av.safetensors", "bytes": len(blob), "sha256": hashlib.sha256(blob).hexdigest()})
    manifest.update({
        "name": "test-av-random",
        "description": "random audio-visual head for parity tests (tools/reference/av_package.py)",
        "files": files,
        "provenance": [p for p in manifest["provenance"] if p.get("network") in BASE_NETWORKS]
        + [{"network": n, "trained": False, "note": "random test weights, seed 19"} for n in networks()],
        "networks": {**nets, **networks()}})
    manifest.pop("audio", None)
    manifest.pop("face_landmarker", None)
    manifest["affect"]["va_head"] = {"type": "network", "network": "va_av", "inputs": SOURCES, "output": "tanh"}
    manifest["affect"]["audio"] = {"encoder": "audio_encoder", "window": WINDOW, "hop": HOP, "features": FEATURES}
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1))


def window_start(t: float) -> int:
    """The window of a frame at t seconds on the audio's axis: centre on the nearest hop (halves up)."""
    return int(np.floor(t * SR / HOP + 0.5)) * HOP - WINDOW // 2


def audio_feature(samples: np.ndarray, t: float, w: dict) -> tuple[np.ndarray, float]:
    """(features [FEATURES], coverage) of the window around t; zeros and 0 when it misses the audio."""
    start = window_start(t)
    lo, hi = max(start, 0), min(start + WINDOW, len(samples))
    if hi <= lo:
        return np.zeros(FEATURES), 0.0
    x = np.zeros(WINDOW)
    x[lo - start:hi - start] = np.nan_to_num(samples[lo:hi].astype(np.float64), nan=0, posinf=0, neginf=0)
    x = np.pad(x, TAPS // 2, mode="reflect")
    frames = np.lib.stride_tricks.sliding_window_view(x, TAPS)[::STFT_HOP]        # [T, TAPS]
    spec = frames @ w["audio.stft.basis"][:, 0, 0, :].astype(np.float64).T        # [T, 2 * BINS]
    mag = np.sqrt(spec[:, :BINS] ** 2 + spec[:, BINS:] ** 2)
    h = np.log(np.maximum(mag @ w["audio.mel.weight"].astype(np.float64).T, LOG_EPS))   # [T, MELS]
    for name, stride in (("time1", 1), ("time2", 2)):
        k = w[f"audio.{name}.weight"][:, :, 0, :].astype(np.float64)              # [Cout, Cin, 3]
        p = np.pad(h, ((1, 1), (0, 0)))
        taps = np.stack([p[j:j + len(h)] for j in range(3)], axis=1)[::stride]    # [T', 3, Cin]
        h = np.maximum(0, np.einsum("tjc,ocj->to", taps, k) + w[f"audio.{name}.bias"])
    feats = h.mean(0) @ w["audio.out.weight"].astype(np.float64).T + w["audio.out.bias"]
    return feats, (hi - lo) / WINDOW


def head(inputs: dict[str, np.ndarray], w: dict) -> np.ndarray:
    x = np.concatenate([np.asarray(inputs[s], np.float64) for s in SOURCES])
    h = np.maximum(0, w["head.fc1.weight"].astype(np.float64) @ x + w["head.fc1.bias"])
    return np.tanh(w["head.fc2.weight"].astype(np.float64) @ h + w["head.fc2.bias"])


def reference_va(result: dict, samples: np.ndarray | None, offset: float, labels: list[str],
                 mask_audio: bool = False) -> list[tuple[float, np.ndarray, float]]:
    """(t, raw VA, audio coverage) per face of `result` (with embeddings and expressions) that has a
    raw estimate, from the clip's samples (None: no audio) starting at `offset` s on the clip's axis."""
    w = random_weights()
    out = []
    for frame in result["frames"]:
        feature, coverage = (np.zeros(FEATURES), 0.0) if samples is None or mask_audio else \
            audio_feature(samples, frame["t"] - offset, w)
        for face in frame["faces"]:
            if face["raw"]["valence"] is None:
                continue
            e = face["embeddings"]
            inputs = {"scene": e["scene"], "person": e["person"], "face": e["face"],
                      "expression": [face["expression"][c] for c in labels], "audio": feature,
                      "audio_coverage": [coverage]}
            out.append((frame["t"], head(inputs, w), coverage))
    return out


def add_audio_temporal_head(package: Path) -> None:
    """Gives the package a temporal head that reads audio too, `temporal_av`: per frame (no state)
    tanh(fc2 @ concat(audio, scene)[:64]), so its output shows which audio feature each frame got."""
    manifest = json.loads((package / "manifest.json").read_text())
    manifest["networks"]["temporal_av"] = {
        "file": "av.safetensors", "inputs": [{"name": "x", "shape": [None, FEATURES + WIDTHS["scene"]]}], "blocks": [
            {"op": "slice", "axis": -1, "start": 0, "length": HIDDEN},
            {"op": "linear", "weight": "head.fc2.weight", "bias": "head.fc2.bias"}]}
    manifest["affect"]["temporal"] = {"type": "network", "network": "temporal_av", "inputs": ["audio", "scene"],
                                      "output": "tanh"}
    (package / "manifest.json").write_text(json.dumps(manifest, indent=1))


def reference_temporal(result: dict, samples: np.ndarray, offset: float) -> list[tuple[float, np.ndarray]]:
    """(t, smoothed VA) per face with an estimate, for a package given `add_audio_temporal_head`."""
    w = random_weights()
    out = []
    for frame in result["frames"]:
        feature, _ = audio_feature(samples, frame["t"] - offset, w)
        for face in frame["faces"]:
            if face["valence"] is not None:
                x = np.concatenate([feature, face["embeddings"]["scene"]])[:HIDDEN]
                out.append((frame["t"], np.tanh(w["head.fc2.weight"].astype(np.float64) @ x + w["head.fc2.bias"])))
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--base", type=Path, default=TOOLS.parent / "models" / "default")
    args = ap.parse_args(argv)
    write_package(args.base, args.out)
    print(f"audio-visual random-weight package -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
