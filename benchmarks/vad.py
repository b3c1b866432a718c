"""Voice activity speed: affectd's engine against onnxruntime on the same 80 s of audio.

    .venv/bin/python benchmarks/vad.py [--model models/default]

The audio is the four generated test scenes of tools/reference/audio_vectors.py (espeak-ng speech
over noise and music; `make audio-vectors`), 80 s in all. onnxruntime runs the original
silero_vad.onnx the way silero's OnnxWrapper does (one 576-sample chunk per call, state carried;
one thread); affectd runs `affectd-bench bench-vad` (the converted networks: the encoder in batches,
the LSTM once over the sequence; one thread). Prints both median times and real-time factors.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
sys.path.insert(0, str(ROOT / "tools" / "reference"))
import safetensors_io  # noqa: E402
import silero_vad  # noqa: E402
from audio_vectors import vad_onnx  # noqa: E402

SCENES = ["quiet", "noise_20db", "noise_10db", "music_10db"]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default=str(ROOT / "models" / "default"))
    ap.add_argument("--vectors", type=Path, default=ROOT / ".cache" / "vectors" / "audio")
    ap.add_argument("--iters", type=int, default=5)
    args = ap.parse_args(argv)
    audio = np.concatenate([safetensors_io.load(args.vectors / f"{s}.safetensors")[0]["audio"] for s in SCENES])
    seconds = len(audio) / silero_vad.SAMPLE_RATE
    onnx_path = vad_onnx(ROOT / ".cache" / "wheels")
    silero_vad.onnxruntime_probs(onnx_path, audio[:16000])  # warm-up
    ort_times = []
    for _ in range(args.iters):
        t0 = time.perf_counter()
        silero_vad.onnxruntime_probs(onnx_path, audio)
        ort_times.append(time.perf_counter() - t0)
    ort = float(np.median(ort_times))
    with tempfile.NamedTemporaryFile(suffix=".f32") as f:
        f.write(audio.astype("<f4").tobytes())
        f.flush()
        out = subprocess.run([str(ROOT / ".build" / "release" / "affectd-bench"), "bench-vad", "--audio", f.name,
                              "--model", args.model, "--iters", str(args.iters)],
                             check=True, capture_output=True, text=True).stdout
    ours = json.loads(out)
    chunks = len(silero_vad.chunks(audio))
    print(f"VAD on {seconds:.0f} s of 16 kHz audio ({chunks} chunks), one thread, median of {args.iters}:")
    print(f"  onnxruntime (silero_vad.onnx, chunk by chunk): {ort * 1000:8.1f} ms  "
          f"real-time factor {ort / seconds:.5f}")
    print(f"  affectd (vad_encoder + vad networks):          {ours['median_seconds'] * 1000:8.1f} ms  "
          f"real-time factor {ours['real_time_factor']:.5f}  ({ort / ours['median_seconds']:.1f}x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
