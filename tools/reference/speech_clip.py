"""A video with speech at known times: WolfgangLanger's video with espeak-ng sentences as its sound.

    .venv/bin/python tools/reference/speech_clip.py SOURCE.mp4 OUT_DIR

Writes OUT_DIR/speech.mp4 (the first 16 s of SOURCE's video, copied, with an AAC 44.1 kHz track:
three espeak-ng sentences at set pitches and speeds at set times over seeded white noise 30 dB
below the speech) and OUT_DIR/speech.json: the ground-truth `segments` (where the clean speech is
within 40 dB of its peak, as tools/reference/audio_vectors.py defines them) and per sentence its
`start`, `end`, espeak `pitch` and `f0_median`, the median F0 of the clean sentence measured by the
independent autocorrelation tracker of audio_vectors.py. Deterministic: fixed seed, one encoder thread.
"""
from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from audio_vectors import SENTENCES, SR, autocorrelation_f0, espeak, truth_segments  # noqa: E402

SECONDS = 16.0
PLACED = [(1.5, 30, 150), (6.0, 55, 170), (11.0, 80, 140)]  # start s, espeak pitch, words per minute
SNR_DB = 30.0


def main(argv=None) -> int:
    source, out = (argv or sys.argv[1:])[:2]
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    n = int(SECONDS * SR)
    clean = np.zeros(n)
    sentences = []
    for text, (start, pitch, speed) in zip(SENTENCES, PLACED):
        voice = espeak(text, pitch, speed)
        i = int(start * SR)
        clean[i:i + len(voice)] += voice
        f0 = autocorrelation_f0(voice)
        sentences.append({"text": text, "start": start, "end": start + len(voice) / SR, "pitch": pitch,
                          "speed": speed, "f0_median": float(np.nanmedian(f0))})
    rng = np.random.default_rng(16)
    noise = rng.standard_normal(n)
    noise *= np.sqrt(np.mean(clean ** 2) / np.mean(noise ** 2) / 10 ** (SNR_DB / 10))
    mix = clean + noise
    mix = (0.5 * mix / np.abs(mix).max()).astype("<f4")
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "mix.f32"
        raw.write_bytes(mix.tobytes())
        subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-threads", "1", "-i", source, "-f", "f32le",
                        "-ar", str(SR), "-ac", "1", "-i", str(raw), "-t", str(SECONDS), "-map", "0:v", "-map", "1:a",
                        "-c:v", "copy", "-c:a", "aac", "-ar", "44100", "-fflags", "+bitexact", "-flags:a", "+bitexact",
                        "-map_metadata", "-1", str(out / "speech.mp4")], check=True, capture_output=True)
    truth = {"segments": truth_segments(clean), "sentences": sentences, "snr_db": SNR_DB, "seconds": SECONDS}
    (out / "speech.json").write_text(json.dumps(truth, indent=1))
    print(f"speech clip -> {out / 'speech.mp4'} ({len(truth['segments'])} segments)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
