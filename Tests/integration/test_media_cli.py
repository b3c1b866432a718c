"""`affectd probe` and `affectd frames` as a user runs them, checked with ffprobe (independent reader).

Needs the release binary (`make build`, or AFFECTD_BIN) and the test media (`make testdata`).
"""
import glob
import json
import os
import re
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.environ.get("AFFECTD_BIN", os.path.join(ROOT, ".build", "release", "affectd"))
DATA = os.environ.get("AFFECTD_TESTDATA", os.path.join(ROOT, ".cache", "testdata"))
CLIP = os.path.join(DATA, "feat", "WolfgangLanger_Pexels.mp4")


@pytest.fixture(scope="module", autouse=True)
def prerequisites():
    if not os.access(BIN, os.X_OK):
        pytest.fail(f"affectd binary not found at {BIN}: run `make build` or set AFFECTD_BIN")
    if not os.path.exists(CLIP) or not os.path.isdir(os.path.join(DATA, "edge")):
        pytest.fail(f"test media missing under {DATA}: run `make testdata`")


def run(*args):
    return subprocess.run([BIN, *args], capture_output=True, text=True, timeout=120)


def test_probe_prints_the_media_json():
    r = run("probe", CLIP)
    assert r.returncode == 0, r.stderr
    p = json.loads(r.stdout)
    assert p["container"] == "mov,mp4,m4a,3gp,3g2,mj2"
    assert p["video_codec"] == "h264" and p["audio_codec"] == "aac"
    assert (p["width"], p["height"], p["rotation"], p["has_audio"]) == (640, 360, 0, True)
    assert abs(p["fps"] - 24000 / 1001) < 1e-9 and abs(p["duration"] - 19.69) < 1e-6
    assert [s["type"] for s in p["streams"]] == ["video", "audio"]
    assert p["streams"][0]["frames"] == 472


def test_probe_of_rotated_phone_clip_reports_display_size():
    p = json.loads(run("probe", os.path.join(DATA, "edge", "rotated_90.mp4")).stdout)
    assert (p["width"], p["height"], p["rotation"]) == (360, 640, 270)
    assert (p["streams"][0]["width"], p["streams"][0]["height"]) == (640, 360)


def test_frames_writes_sampled_pngs(tmp_path):
    r = run("frames", CLIP, "--fps", "5", "--size", "224x224", "--out", str(tmp_path))
    assert r.returncode == 0, r.stderr
    files = sorted(glob.glob(str(tmp_path / "*.png")))
    assert len(files) == 99
    times = [float(re.search(r"_t([0-9.]+)\.png$", f).group(1)) for f in files]
    assert all(abs(t - k / 5) <= 0.5 * 1001 / 24000 + 1e-3 for k, t in enumerate(times))
    info = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "stream=codec_name,width,height,pix_fmt",
                           "-of", "json", files[0]], capture_output=True, text=True, check=True)
    s = json.loads(info.stdout)["streams"][0]
    assert (s["codec_name"], s["width"], s["height"], s["pix_fmt"]) == ("png", 224, 126, "rgb24")


@pytest.mark.parametrize("name, message", [
    ("empty.mp4", "the input is empty (0 bytes)"),
    ("h264_in.avi", "unsupported container avi"),
    ("huge_4096.png", "frame 4096x4096 exceeds max_pixels 8294400"),
    ("truncated_61.mp4", "truncated file at 61%"),
    ("audio_only.m4a", "no video stream"),
    ("random_bytes.mp4", "not a recognised video or image format"),
])
def test_bad_media_gets_a_clear_error_and_exit_2(tmp_path, name, message):
    r = run("frames", os.path.join(DATA, "edge", name), "--fps", "1", "--out", str(tmp_path))
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert message in r.stderr
