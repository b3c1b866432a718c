"""The face crop of the `fer` library (fer 25.10.3, FER.detect_emotions) in numpy, on RGB input.

gray (OpenCV 15-bit fixed-point 0.299R + 0.587G + 0.114B) -> pad 40 px with the rounded mean of the bottom
two rows -> box int(x1), int(y1), int(x2)-int(x1), int(y2)-int(y1) -> square on the longer side
(x -= diff // 2) -> grow 10 px per side -> shift by the pad, clamp x1/y1 at 0 -> OpenCV INTER_LINEAR
resize of the 8-bit crop to 64x64 (the network input is then networks.xception_normalise of it).
"""
from __future__ import annotations

import numpy as np

PADDING = 40
OFFSET = 10
SIZE = 64
_COEF_BITS = 11  # OpenCV INTER_RESIZE_COEF_BITS
_COEF_SCALE = 1 << _COEF_BITS


def gray(rgb: np.ndarray) -> np.ndarray:
    """cv2.cvtColor(..., BGR2GRAY) on 8-bit data: (9798 R + 19235 G + 3735 B + 2^14) >> 15
    (bit-exact with OpenCV 5.0 on all inputs tried; 14-bit coefficients differ by 1 on ~0.3 %)."""
    r, g, b = (rgb[..., i].astype(np.int32) for i in range(3))
    return ((r * 9798 + g * 19235 + b * 3735 + (1 << 14)) >> 15).astype(np.uint8)


def pad(g: np.ndarray) -> np.ndarray:
    value = np.rint(g[-2:, :].astype(np.float64).mean())  # cv2.mean + saturate_cast (half to even)
    return np.pad(g, PADDING, constant_values=np.uint8(value))


def square_box(box_xyxy) -> tuple[int, int, int, int]:
    """fer's int box, tosquare and offsets, in padded coordinates: (x1, y1, x2, y2) slice bounds."""
    x, y = int(box_xyxy[0]), int(box_xyxy[1])
    w, h = int(box_xyxy[2]) - x, int(box_xyxy[3]) - y
    if h > w:
        diff = h - w
        x -= diff // 2
        w += diff
    elif w > h:
        diff = w - h
        y -= diff // 2
        h += diff
    x1, x2, y1, y2 = x - OFFSET + PADDING, x + w + OFFSET + PADDING, y - OFFSET + PADDING, y + h + OFFSET + PADDING
    return max(0, x1), max(0, y1), x2, y2


def _linear_taps(n_in: int, n_out: int):
    """OpenCV resize coefficient tables for one axis: source index and 11-bit weights."""
    scale = n_in / n_out
    idx = np.zeros(n_out, np.int64)
    a0 = np.zeros(n_out, np.int32)
    a1 = np.zeros(n_out, np.int32)
    for d in range(n_out):
        f = np.float32((d + 0.5) * scale - 0.5)
        s = int(np.floor(f))
        f = np.float32(f - s)
        if s < 0:
            f, s = np.float32(0), 0
        if s >= n_in - 1:
            f, s = np.float32(0), n_in - 1
        idx[d] = s
        a0[d] = int(np.rint((np.float32(1.0) - f) * _COEF_SCALE))
        a1[d] = int(np.rint(f * _COEF_SCALE))
    return idx, a0, a1


def resize_linear_u8(img: np.ndarray, out_h: int, out_w: int) -> np.ndarray:
    """cv2.resize(img, (out_w, out_h), interpolation=INTER_LINEAR) for 2-D uint8 (fixed point)."""
    h, w = img.shape
    if h == 2 * out_h and w == 2 * out_w:  # OpenCV switches to INTER_AREA for an exact 2x shrink
        return ((img.reshape(out_h, 2, out_w, 2).astype(np.int32).sum(axis=(1, 3)) + 2) >> 2).astype(np.uint8)
    xi, xa0, xa1 = _linear_taps(w, out_w)
    yi, ya0, ya1 = _linear_taps(h, out_h)
    src = img.astype(np.int32)
    xi1 = np.minimum(xi + 1, w - 1)
    rows = src[:, xi] * xa0 + src[:, xi1] * xa1  # (h, out_w), scaled by 2^11
    r0, r1 = rows[yi], rows[np.minimum(yi + 1, h - 1)]
    # OpenCV's SIMD vertical pass: ((b0 * (S0 >> 4)) >> 16) + ((b1 * (S1 >> 4)) >> 16) + 2 >> 2
    v = ((ya0[:, None] * (r0 >> 4)) >> 16) + ((ya1[:, None] * (r1 >> 4)) >> 16)
    return np.clip((v + 2) >> 2, 0, 255).astype(np.uint8)


def crop(rgb: np.ndarray, box_xyxy) -> np.ndarray:
    """The 64x64 uint8 grey face fer would classify for this MTCNN box."""
    g = pad(gray(rgb))
    x1, y1, x2, y2 = square_box(box_xyxy)
    face = g[y1:y2, x1:x2]
    if face.size == 0:
        raise ValueError(f"empty face crop for box {box_xyxy}")
    return resize_linear_u8(face, SIZE, SIZE)

