"""The audio branch end to end: `affectd analyze --include audio` and `include=audio` over REST on
real media, a clip with known speech (espeak-ng sentences muxed onto WolfgangLanger's video at set
times and pitches, made in set-up), and the HTML report drawing it.

Needs the release binary, a model package with `audio.vad` (models/default from `make model`, or
AFFECTD_TEST_MODEL), the test media and espeak-ng (scripts/setup-system.sh).
"""
import json
import os
import subprocess

import pytest
import requests

from service_server import BIN, CLIP, EDGE, FEAT, ROOT, Server, need

MODEL = os.environ.get("AFFECTD_TEST_MODEL") or os.path.join(ROOT, "models", "default")
SPEECH = os.path.join(ROOT, ".cache", "testdata", "speech")


@pytest.fixture(scope="module", autouse=True)
def vad_model():
    need(os.path.join(MODEL, "manifest.json"))
    if "audio" not in json.load(open(os.path.join(MODEL, "manifest.json"))):
        pytest.fail(f"{MODEL} has no audio section: rebuild it with `make model`")


def analyze(path, *args):
    r = subprocess.run([BIN, "analyze", path, "--fps", "5", "--model", MODEL, *args], capture_output=True, text=True,
                       timeout=300, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


@pytest.fixture(scope="module")
def speech_clip():
    """16 s of WolfgangLanger's video with three espeak-ng sentences at known times and pitches over
    noise 30 dB down (tools/reference/speech_clip.py, made by scripts/fetch-testdata.sh) and its truth."""
    clip = need(os.path.join(SPEECH, "speech.mp4"))
    return clip, json.load(open(need(os.path.join(SPEECH, "speech.json"))))


def matches(found, truth):
    """One-to-one pairs (found, truth) with intersection over union >= 0.5, in time order."""
    pairs, used = [], set()
    for f in found:
        for k, t in enumerate(truth):
            inter = min(f[1], t[1]) - max(f[0], t[0])
            if k not in used and inter > 0 and inter / (max(f[1], t[1]) - min(f[0], t[0])) >= 0.5:
                pairs.append((f, k))
                used.add(k)
                break
    return pairs


def test_clip_with_speech_has_its_segments_and_pitch(speech_clip, tmp_path):
    clip, truth = speech_clip
    report = tmp_path / "speech.html"
    r = analyze(clip, "--include", "audio", "--report", str(report))
    audio = r["audio"]
    found = [[s["start"], s["end"]] for s in audio["speech"]]
    pairs = matches(found, truth["segments"])
    f1 = 2 * len(pairs) / (len(found) + len(truth["segments"]))
    assert f1 >= 0.9, (found, truth["segments"])
    for seg in audio["speech"]:
        [k] = [k for f, k in pairs if f == [seg["start"], seg["end"]]]
        # F0 near the set pitch: the segment's mean within 5% of the clean sentence's median F0, measured
        # by the independent autocorrelation tracker (espeak-ng -p 30/55/80: about 86, 108, 135 Hz).
        expected = truth["sentences"][k]["f0_median"]
        assert abs(seg["f0_hz"]["mean"] / expected - 1) < 0.05, (seg, expected)
        assert 0.3 < seg["voiced_fraction"] <= 1 and 1 < seg["syllable_rate"] < 8, seg
    assert [p["t"] for p in audio["prosody"]] == [f["t"] for f in r["frames"]]
    inside = [p for p in audio["prosody"] if any(s + 0.2 < p["t"] < e - 0.2 for s, e in truth["segments"])]
    outside = [p for p in audio["prosody"] if p["t"] < truth["seconds"]  # past the audio: nulls
               and all(p["t"] < s - 0.5 or p["t"] > e + 0.5 for s, e in truth["segments"])]
    assert inside and outside and all(p["speech"] for p in inside) and not any(p["speech"] for p in outside)
    assert min(p["loudness_db"] for p in inside) > max(p["loudness_db"] for p in outside)
    check = subprocess.run([os.path.join(ROOT, "scripts", "check-report.sh"), str(report)], capture_output=True,
                           text=True, timeout=120)
    assert check.returncode == 0, check.stderr
    assert f"speech_segments={len(found)}" in check.stdout, check.stdout
    windows = len((audio["soundscape"] or {}).get("windows", []))
    assert windows >= 1 and f"pleasantness={windows} eventfulness={windows}" in check.stdout, check.stdout


@pytest.mark.parametrize("name,has_audio", [("feat/WolfgangLanger_Pexels.mp4", True), ("feat/no_face.mp4", True),
                                            ("edge/vfr.mp4", False), ("feat/single_face.jpg", False)])
def test_cli_audio_section_or_null(name, has_audio):
    path = os.path.join(FEAT if name.startswith("feat/") else EDGE, name.split("/", 1)[1])
    need(path)
    r = analyze(path, "--include", "audio")
    assert "audio" in r
    assert (r["audio"] is not None) == has_audio, r["audio"]
    if has_audio:
        assert len(r["audio"]["prosody"]) == r["media"]["frames_analyzed"]
        check_soundscape(r["audio"])
    assert "audio" not in analyze(path)


def check_soundscape(audio):
    """SoundAQnet's windows (docs/audio.md): labelled as the sound environment's affect, inside the
    audio on the clip's axis, ISO pleasantness/eventfulness in [-1, 1], the qualities on (about) the
    ARAUS questionnaire's 1-5 agreement scale (regression outputs, not clamped), scene
    probabilities summing to 1, event probabilities and loudness in range."""
    manifest = json.load(open(os.path.join(MODEL, "manifest.json")))
    settings = manifest["audio"]["soundscape"]
    labels = manifest["networks"][settings["network"]]["labels"]
    sc = audio["soundscape"]
    assert sc is not None, audio
    assert "not a person's emotion" in sc["describes"] and sc["model"] == "SoundAQnet"
    seconds = audio["end"] - audio["start"]
    window, hop = settings["window_seconds"], settings["hop_seconds"]
    expected = 1 if seconds <= window else int((seconds - window) // hop) + 1
    assert len(sc["windows"]) == expected, (seconds, sc["windows"])
    for w in sc["windows"]:
        assert audio["start"] - 1e-6 <= w["start"] < w["end"] <= audio["end"] + 1e-6, w
        assert -1 <= w["pleasantness"] <= 1 and -1 <= w["eventfulness"] <= 1, w
        assert set(w["qualities"]) == {"pleasant", "eventful", "chaotic", "vibrant", "uneventful", "calm", "annoying",
                                       "monotonous"} and all(0.5 <= v <= 5.5 for v in w["qualities"].values()), w
        assert set(w["scene"]) == set(labels["scene"]) and abs(sum(w["scene"].values()) - 1) < 1e-4, w
        assert set(w["events"]) == set(labels["event"]) and all(0 <= v <= 1 for v in w["events"].values()), w
        assert w["loudness_sone"] >= 0, w


def test_soundscape_follows_the_sound(tmp_path):
    """Louder broadband noise on the same video: a higher ISO 532-1 loudness in every window, and the
    network's output changes with the sound (the silent original and the noisy copy differ)."""
    need(CLIP)
    quiet = analyze(CLIP, "--include", "audio")["audio"]["soundscape"]["windows"]
    noisy = tmp_path / "noisy.mp4"
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", CLIP, "-f", "lavfi", "-i",
                    "anoisesrc=color=pink:amplitude=0.3:sample_rate=44100", "-t", "12", "-map", "0:v", "-map", "1:a",
                    "-c:v", "copy", "-c:a", "aac", str(noisy)], check=True, capture_output=True)
    loud = analyze(str(noisy), "--include", "audio")["audio"]["soundscape"]["windows"]
    settings = json.load(open(os.path.join(MODEL, "manifest.json")))["audio"]["soundscape"]
    assert len(loud) == 1 + int((12 - settings["window_seconds"]) // settings["hop_seconds"])
    for a, b in zip(quiet, loud):
        assert a["loudness_sone"] == 0 and b["loudness_sone"] > 5, (a, b)
        assert (a["pleasantness"], a["eventfulness"]) != (b["pleasantness"], b["eventfulness"])


def test_rest_include_audio():
    need(CLIP)
    s = Server({"workers.count": 1, "model.dir": MODEL})
    try:
        with open(CLIP, "rb") as f:
            body = f.read()
        r = requests.post(s.url + "/v1/analyze?include=audio&fps=2", data=body, headers={"Content-Type": "video/mp4"},
                          timeout=120)
        assert r.status_code == 200, r.text
        out = r.json()
        assert "frames" not in out and out["audio"]["end"] == pytest.approx(19.69, abs=0.05)
        r = requests.post(s.url + "/v1/analyze?include=frames,audio&fps=2", data=body,
                          headers={"Content-Type": "video/mp4"}, timeout=120)
        assert r.status_code == 200 and len(r.json()["audio"]["prosody"]) == len(r.json()["frames"])
    finally:
        assert s.stop() == 0


def test_non_finite_samples_give_nulls_not_a_failure(tmp_path):
    """pcm_f32le can carry NaN and infinities: the analysis still answers, with valid JSON."""
    import numpy as np
    t = np.arange(16000 * 4) / 16000
    x = (0.3 * np.sin(2 * np.pi * 150 * t)).astype("<f4")
    x[::1000] = np.nan
    x[500::1000] = np.inf
    raw, clip = tmp_path / "x.f32", tmp_path / "nan.mkv"
    raw.write_bytes(x.tobytes())
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", CLIP, "-f", "f32le", "-ar", "16000", "-ac", "1",
                    "-i", str(raw), "-t", "4", "-map", "0:v", "-map", "1:a", "-c:v", "copy", "-c:a", "pcm_f32le",
                    str(clip)], check=True, capture_output=True)
    r = subprocess.run([BIN, "analyze", str(clip), "--fps", "2", "--model", MODEL, "--include", "audio"],
                       capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert r.returncode == 0, r.stderr

    def refuse(name):
        raise AssertionError(f"non-JSON number {name}")
    out = json.loads(r.stdout, parse_constant=refuse)
    assert out["audio"] is not None and len(out["audio"]["prosody"]) == len(out["frames"])
