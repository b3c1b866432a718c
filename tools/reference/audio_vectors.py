"""Speech test audio with known ground truth, and the original Silero VAD's output on it.

    .venv/bin/python tools/reference/audio_vectors.py [--out .cache/vectors/audio] [--wheels .cache/wheels]

Sentences are spoken by espeak-ng (Debian) at set pitches and speeds, placed at known times in a
20 s scene, and mixed with a background at a set SNR (speech power over background power, both
measured over the whole scene): white noise, a synthetic "music" (chords of harmonic tones with
note changes, including a stretch of music alone) or near silence. The ground-truth speech
segments are where the clean speech track is within 40 dB of its peak level (10 ms frames), gaps
under 300 ms closed (pauses between words are speech at segment level).

Each scene is written as <name>.safetensors: `audio` (16 kHz mono float, resampled from
espeak-ng's 22.05 kHz by the ffmpeg CLI), `vad_onnxruntime` (the speech probability per 512-sample
chunk from silero_vad.onnx in onnxruntime, run chunk by chunk as silero's OnnxWrapper does) and
metadata `segments` (JSON [[start, end], ...] in seconds), `snr_db`, `background`.
Files `voice_p<P>.safetensors` hold one espeak-ng sentence at pitch P (espeak's -p) without
background, with `f0_autocorrelation`: its F0 per 10 ms frame (NaN where unvoiced) measured by an
autocorrelation pitch estimator written here independently of the Swift YIN (for the F0 test).
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np

TOOLS = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(TOOLS))
import convert_default_model  # noqa: E402
import safetensors_io  # noqa: E402
import silero_vad  # noqa: E402

SR = 16000
SENTENCES = [
    "The weather was calm and bright this morning.",
    "She opened the door and walked into the garden.",
    "Please bring the red box to the kitchen table.",
    "We will meet again after the long winter.",
]
SCENES = [  # name, background, SNR dB
    ("noise_20db", "noise", 20.0),
    ("noise_10db", "noise", 10.0),
    ("music_10db", "music", 10.0),
    ("quiet", "noise", 50.0),
]


def espeak(text: str, pitch: int, speed: int) -> np.ndarray:
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "s.wav"
        subprocess.run(["espeak-ng", "-v", "en", "-p", str(pitch), "-s", str(speed), "-w", str(wav), text],
                       check=True, capture_output=True)
        raw = subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", str(wav), "-ac", "1", "-ar", str(SR),
                              "-f", "f32le", "-"], check=True, capture_output=True).stdout
    return np.frombuffer(raw, dtype=np.float32).astype(np.float64)


def frame_db(x: np.ndarray, hop: int = 160) -> np.ndarray:
    n = len(x) // hop
    return 10 * np.log10(np.mean(x[:n * hop].reshape(n, hop) ** 2, axis=1) + 1e-12)


def truth_segments(clean: np.ndarray) -> list[list[float]]:
    db = frame_db(clean)
    active = db > db.max() - 40
    segs, start = [], None
    for k, a in enumerate(np.append(active, False)):
        if a and start is None:
            start = k
        if not a and start is not None:
            if segs and start - segs[-1][1] < 30:
                segs[-1][1] = k
            else:
                segs.append([start, k])
            start = None
    return [[s / 100, e / 100] for s, e in segs]


def music(n: int, rng: np.random.Generator) -> np.ndarray:
    t = np.arange(n) / SR
    out = np.zeros(n)
    note = int(0.5 * SR)
    for k in range(0, n, note):
        root = 110 * 2 ** (rng.integers(0, 12) / 12)
        seg = slice(k, min(n, k + note))
        env = np.exp(-3 * (t[seg] - t[k]))
        for ratio in (1, 1.25, 1.5):
            for h in range(1, 6):
                out[seg] += env * np.sin(2 * np.pi * root * ratio * h * t[seg]) / h
    return out


def scene(background: str, snr_db: float, rng: np.random.Generator):
    n = 20 * SR
    clean = np.zeros(n)
    starts = [1.0, 5.5, 10.5, 15.0]  # music alone fills most of 8.5-10.5 s
    for text, start, pitch, speed in zip(SENTENCES, starts, (40, 60, 50, 70), (150, 170, 160, 140)):
        s = espeak(text, pitch, speed)
        i = int(start * SR)
        clean[i:i + len(s)] += s[:n - i]
    bg = rng.standard_normal(n) if background == "noise" else music(n, rng)
    bg *= np.sqrt(np.mean(clean ** 2) / np.mean(bg ** 2) / 10 ** (snr_db / 10))
    mix = clean + bg
    mix *= 0.5 / np.abs(mix).max()
    return mix.astype(np.float32), truth_segments(clean)


def autocorrelation_f0(x: np.ndarray) -> np.ndarray:
    """F0 per 10 ms frame (centre at k * 10 ms, NaN where unvoiced): normalised autocorrelation over
    a 40 ms window; the period is the shortest lag in 60-500 Hz whose local peak reaches 0.9 of the
    highest (the highest alone is often twice the period: an octave too low); voiced when that peak
    exceeds 0.7 and the frame is within 25 dB of the loudest; parabolic interpolation of the peak."""
    win, hop = 640, 160
    lo, hi = SR // 500, SR // 60
    db = frame_db(x)
    out = np.full(len(x) // hop + 1, np.nan)
    for k in range(len(out)):
        start = k * hop - (win + hi) // 2
        if start < 0 or start + win + hi > len(x) or db[min(k, len(db) - 1)] < db.max() - 25:
            continue
        f = x[start:start + win + hi] - np.mean(x[start:start + win + hi])
        ac = np.array([np.dot(f[:win], f[lag:lag + win]) for lag in range(hi + 1)])
        ac /= ac[0] + 1e-12
        top = ac[lo:hi + 1].max()
        peaks = [t for t in range(lo, hi) if ac[t] >= ac[t - 1] and ac[t] >= ac[t + 1] and ac[t] >= 0.9 * top]
        lag = peaks[0] if peaks else lo + int(np.argmax(ac[lo:hi + 1]))
        if ac[lag] > 0.7 and 0 < lag < hi:
            a, b, c = ac[lag - 1], ac[lag], ac[lag + 1]
            shift = 0.5 * (a - c) / (a - 2 * b + c) if a - 2 * b + c < 0 else 0.0
            out[k] = SR / (lag + shift)
    return out


def vad_onnx(wheels: Path) -> Path:
    pin = next(p for p in convert_default_model.PINS if p["package"] == "silero-vad")
    wheel = convert_default_model.fetch_wheel(pin, wheels, offline=False)
    out = Path(tempfile.mkdtemp()) / "silero_vad.onnx"
    with zipfile.ZipFile(wheel) as z:
        out.write_bytes(z.read(convert_default_model.MEMBERS["vad"][1]))
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=TOOLS.parent / ".cache" / "vectors" / "audio")
    ap.add_argument("--wheels", type=Path, default=TOOLS.parent / ".cache" / "wheels")
    args = ap.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    onnx_path = vad_onnx(args.wheels)
    rng = np.random.default_rng(19)
    for name, background, snr in SCENES:
        audio, segments = scene(background, snr, rng)
        probs = silero_vad.onnxruntime_probs(onnx_path, audio)
        safetensors_io.save(args.out / f"{name}.safetensors",
                            {"audio": audio, "vad_onnxruntime": probs.astype(np.float32)},
                            {"segments": json.dumps(segments), "snr_db": str(snr), "background": background})
    for pitch in (20, 50, 80):
        voice = espeak(SENTENCES[0], pitch, 160)
        voice = (0.5 * voice / np.abs(voice).max()).astype(np.float32)
        f0 = autocorrelation_f0(voice.astype(np.float64))
        safetensors_io.save(args.out / f"voice_p{pitch}.safetensors",
                            {"audio": voice, "f0_autocorrelation": f0.astype(np.float32)},
                            {"f0_autocorrelation_median": str(np.nanmedian(f0)), "pitch": str(pitch)})
    print(f"audio vectors written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
