"""Our per-segment loudness and F0 against openSMILE's eGeMAPSv02 functionals on the same segments.

A throwaway check (issue 19), never part of the set-up: opensmile==2.6.0 is under audEERING's
research licence (non-commercial use, or evaluation "of an evaluatory, planning, and research
nature"), so it lives in a throwaway venv and nothing of it is shipped or vendored:

    python3 -m venv /tmp/avaudio-venv && /tmp/avaudio-venv/bin/pip install opensmile==2.6.0
    /tmp/avaudio-venv/bin/python benchmarks/opensmile_compare.py

Clips: the four generated speech scenes of tools/reference/audio_vectors.py (.cache/vectors/audio:
espeak-ng sentences at set pitches over noise at 50/20/10 dB SNR and over music at 10 dB) at three
gains (0, -10, -20 dB), muxed as pcm_f32le onto WolfgangLanger's video. For every speech segment
`affectd analyze --include audio` finds, the same samples go through openSMILE; printed: per
segment our level and F0 next to eGeMAPS' `loudness_sma3_amean` and `F0semitoneFrom27.5Hz_sma3nz_amean`
(converted to Hz), then the correlations and the median relative F0 difference.
"""
from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import opensmile

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import safetensors_io  # noqa: E402

BIN = ROOT / ".build" / "release" / "affectd"
CLIP = ROOT / ".cache" / "testdata" / "feat" / "WolfgangLanger_Pexels.mp4"
SCENES = ["quiet", "noise_20db", "noise_10db", "music_10db"]
GAINS_DB = [0, -10, -20]
SR = 16000


def our_segments(samples: np.ndarray, tmp: Path) -> list[dict]:
    raw, clip = tmp / "a.f32", tmp / "a.mkv"
    raw.write_bytes(samples.astype("<f4").tobytes())
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(CLIP), "-f", "f32le", "-ar", str(SR),
                    "-ac", "1", "-i", str(raw), "-map", "0:v", "-map", "1:a", "-c:v", "copy", "-c:a", "pcm_f32le",
                    "-shortest", str(clip)], check=True, capture_output=True)
    out = subprocess.run([str(BIN), "analyze", str(clip), "--fps", "1", "--include", "audio"], check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out)["audio"]["speech"]


def main() -> int:
    smile = opensmile.Smile(feature_set=opensmile.FeatureSet.eGeMAPSv02,
                            feature_level=opensmile.FeatureLevel.Functionals)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for scene in SCENES:
            audio, _ = safetensors_io.load(ROOT / ".cache" / "vectors" / "audio" / f"{scene}.safetensors")
            for gain in GAINS_DB:
                x = audio["audio"].astype(np.float64) * 10 ** (gain / 20)
                for seg in our_segments(x, Path(tmp)):
                    part = x[int(seg["start"] * SR):int(seg["end"] * SR)].astype(np.float32)
                    f = smile.process_signal(part, SR).iloc[0]
                    st = f["F0semitoneFrom27.5Hz_sma3nz_amean"]
                    rows.append({"scene": scene, "gain": gain, "start": seg["start"], "end": seg["end"],
                                 "level_db": seg["loudness_db"], "f0": seg["f0_hz"]["mean"] if seg["f0_hz"] else np.nan,
                                 "os_loudness": f["loudness_sma3_amean"],
                                 "os_f0": 27.5 * 2 ** (st / 12) if st > 0 else np.nan})
    print(f"{'scene':11} {'gain':>4} {'start':>6} {'end':>6} {'level dB':>8} {'eGeMAPS loud':>12} {'F0 Hz':>7} "
          f"{'eGeMAPS F0':>10}")
    for r in rows:
        print(f"{r['scene']:11} {r['gain']:>4} {r['start']:>6.2f} {r['end']:>6.2f} {r['level_db']:>8.2f} "
              f"{r['os_loudness']:>12.4f} {r['f0']:>7.1f} {r['os_f0']:>10.1f}")
    level = np.array([r["level_db"] for r in rows])
    loud = np.array([r["os_loudness"] for r in rows])
    f0, os_f0 = np.array([r["f0"] for r in rows]), np.array([r["os_f0"] for r in rows])
    both = np.isfinite(f0) & np.isfinite(os_f0)
    rel = (f0[both] - os_f0[both]) / os_f0[both]
    # eGeMAPS loudness grows as intensity^0.3 (Zwicker's power law), our level is 10 log10 intensity:
    # on a log scale the two are linear in each other, with slope 0.03 per dB for a pure power law.
    slope = np.polyfit(level, np.log10(loud), 1)[0]
    print(f"\n{len(rows)} segments; level dB vs eGeMAPS loudness: Pearson r {np.corrcoef(level, loud)[0, 1]:.3f}, "
          f"vs log10 loudness r {np.corrcoef(level, np.log10(loud))[0, 1]:.3f} (slope {slope:.4f} per dB; 0.03 "
          f"for intensity^0.3)")
    print(f"F0 on {both.sum()} segments voiced in both: Pearson r {np.corrcoef(f0[both], os_f0[both])[0, 1]:.3f}, "
          f"median relative difference {100 * np.median(rel):+.2f}% "
          f"(median |diff| {100 * np.median(np.abs(rel)):.2f}%, "
          f"max |diff| {100 * np.abs(rel).max():.2f}%)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
