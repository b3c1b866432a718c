"""numpy reference of MediaPipe's face detector graph around face_detector.tflite (BlazeFace short range),
written from the options of mediapipe/tasks/cc/vision/face_detector/face_detector_graph.cc and the
calculators it configures (ImageToTensor, SsdAnchors, TensorsToDetections, NonMaxSuppression, DetectionProjection).

- `letterbox`: the whole frame padded to a square around its centre (keep_aspect_ratio), sampled at
  128x128 with the square's corners on the tensor's corners (OpenCV warpPerspective, bilinear, pixel
  centres at integers, BORDER_ZERO), rounded to 8 bits like OpenCV's uint8 warp, scaled to [-1, 1].
- `anchors`: SsdAnchorsCalculator with 4 layers, strides 8, 16, 16, 16, offset 0.5, fixed size: 2 anchors
  per cell of the 16x16 map, 6 per cell of the 8x8 map (the three stride-16 layers share it): 896.
- `decode`: TensorsToDetections (reverse_output_order: x, y, w, h; scales 128; 6 keypoints; sigmoid of
  the score logit clipped to +-100; kept when >= the threshold).
- `weighted_nms`: NonMaxSuppression, WEIGHTED, IoU: the best remaining detection absorbs every remaining
  one overlapping it by more than the threshold (itself included); box and keypoints become their
  score-weighted mean, the score stays the best one's.
Boxes are (xmin, ymin, xmax, ymax) and keypoints (x, y), in frame pixels after `project`.
"""
from __future__ import annotations

import numpy as np

SIZE = 128
STRIDES = [8, 16, 16, 16]
KEYPOINTS = 6
SCORE_CLIP = 100.0
MIN_SCORE = 0.5  # FaceLandmarkerOptions.min_face_detection_confidence
MIN_SUPPRESSION = 0.5  # FaceDetectorGraphOptions.min_suppression_threshold (the landmarker keeps the default)


def letterbox(rgb: np.ndarray) -> np.ndarray:
    """[H, W, 3] uint8 -> [128, 128, 3] float32 in [-1, 1]."""
    h, w, _ = rgb.shape
    side = float(max(w, h))
    step = side / SIZE
    xs = (w - side) / 2 + np.arange(SIZE) * step
    ys = (h - side) / 2 + np.arange(SIZE) * step
    x0, y0 = np.floor(xs).astype(int), np.floor(ys).astype(int)
    fx, fy = (xs - x0)[None, :, None], (ys - y0)[:, None, None]
    img = rgb.astype(np.float64)

    def at(yy: np.ndarray, xx: np.ndarray) -> np.ndarray:
        inside = ((yy >= 0) & (yy < h))[:, None, None] & ((xx >= 0) & (xx < w))[None, :, None]
        return img[np.clip(yy, 0, h - 1)][:, np.clip(xx, 0, w - 1)] * inside

    top = at(y0, x0) * (1 - fx) + at(y0, x0 + 1) * fx
    bottom = at(y0 + 1, x0) * (1 - fx) + at(y0 + 1, x0 + 1) * fx
    u8 = np.floor(top * (1 - fy) + bottom * fy + 0.5)
    return (u8 / 127.5 - 1).astype(np.float32)


def anchors() -> np.ndarray:
    """[896, 2] anchor centres (x, y) in 0...1; every anchor is 1 x 1 (fixed_anchor_size)."""
    out = []
    layer = 0
    while layer < len(STRIDES):
        stride = STRIDES[layer]
        per_cell = 0
        while layer < len(STRIDES) and STRIDES[layer] == stride:
            per_cell += 2  # aspect ratio 1 and the interpolated scale
            layer += 1
        cells = -(-SIZE // stride)
        for y in range(cells):
            for x in range(cells):
                out += [((x + 0.5) / cells, (y + 0.5) / cells)] * per_cell
    return np.array(out, np.float64)


def decode(raw: np.ndarray, logits: np.ndarray, min_score: float = MIN_SCORE):
    """raw [896, 16], logits [896] -> boxes [n, 4] and keypoints [n, 6, 2] in 0...1 of the 128 square, scores [n]."""
    a = anchors()
    raw = raw.astype(np.float64).reshape(-1, 16)
    scores = 1 / (1 + np.exp(-np.clip(logits.astype(np.float64).reshape(-1), -SCORE_CLIP, SCORE_CLIP)))
    keep = scores >= min_score
    raw, a, scores = raw[keep], a[keep], scores[keep]
    cx, cy = raw[:, 0] / SIZE + a[:, 0], raw[:, 1] / SIZE + a[:, 1]
    w, h = raw[:, 2] / SIZE, raw[:, 3] / SIZE
    boxes = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], 1)
    keypoints = raw[:, 4:].reshape(-1, KEYPOINTS, 2) / SIZE + a[:, None, :]
    return boxes, keypoints, scores


def iou(a: np.ndarray, b: np.ndarray) -> float:
    ix = min(a[2], b[2]) - max(a[0], b[0])
    iy = min(a[3], b[3]) - max(a[1], b[1])
    if ix <= 0 or iy <= 0:
        return 0.0
    inter = ix * iy
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def weighted_nms(boxes, keypoints, scores, threshold: float = MIN_SUPPRESSION):
    order = list(np.argsort(-scores, kind="stable"))
    out_boxes, out_keypoints, out_scores = [], [], []
    while order:
        best = order[0]
        group = [i for i in order if iou(boxes[i], boxes[best]) > threshold]
        order = [i for i in order if i not in group]
        wts = scores[group][:, None]
        out_boxes.append((boxes[group] * wts).sum(0) / wts.sum())
        out_keypoints.append((keypoints[group] * wts[:, :, None]).sum(0) / wts.sum())
        out_scores.append(scores[best])
    return np.array(out_boxes).reshape(-1, 4), np.array(out_keypoints).reshape(-1, KEYPOINTS, 2), np.array(out_scores)


def project(boxes, keypoints, width: int, height: int):
    """From 0...1 of the letterboxed square to frame pixels."""
    side = max(width, height)
    offset = np.array([(width - side) / 2, (height - side) / 2])
    return boxes * side + np.tile(offset, 2), keypoints * side + offset


def detect(raw: np.ndarray, logits: np.ndarray, width: int, height: int):
    """The whole post-processing: boxes [n, 4], keypoints [n, 6, 2] in frame pixels, scores [n], best first."""
    boxes, keypoints, scores = weighted_nms(*decode(raw, logits))
    return (*project(boxes, keypoints, width, height), scores)
