"""The MTCNN face detector exactly as facenet-pytorch 2.6.0 defines it, in numpy.

`detect(rgb, nets)` mirrors `MTCNN(keep_all=True).detect(img, landmarks=True)` for one HxWx3 uint8
RGB image: pyramid scales 0.6 * 0.709^k while min(h, w) * scale >= 12, 'area' resampling (adaptive
average pooling), thresholds 0.6/0.7/0.7, NMS 0.5 within a scale and 0.7 across scales, box
regression, squaring (rerec), int truncation + clamping of crops, R-Net and O-Net stages,
landmarks, a final 'Min' NMS 0.7 and ordering by box area (largest first). Arithmetic follows
torch's float32 where it decides a threshold or a box (floor of the P-Net cell boxes).
The only deliberate difference: a crop that lies entirely outside the image (facenet-pytorch
would crash on the misaligned batch) is dropped together with its box.
"""
from __future__ import annotations

import numpy as np

from networks import mtcnn_normalise, onet, pnet, rnet

F32 = np.float32
MIN_FACE = 20
FACTOR = 0.709
THRESHOLDS = (0.6, 0.7, 0.7)


def pyramid_scales(h: int, w: int, min_face: int = MIN_FACE, factor: float = FACTOR) -> list[float]:
    m = 12.0 / min_face
    minl = min(h, w) * m
    scales, s = [], m
    while minl >= 12:
        scales.append(s)
        s *= factor
        minl *= factor
    return scales


def _pool_matrix(n_in: int, n_out: int) -> np.ndarray:
    """Adaptive average pooling along one axis: window [floor(i*in/out), ceil((i+1)*in/out))."""
    m = np.zeros((n_out, n_in))
    for i in range(n_out):
        lo = (i * n_in) // n_out
        hi = -((-(i + 1) * n_in) // n_out)
        m[i, lo:hi] = 1.0 / (hi - lo)
    return m


def area_resize(img_chw: np.ndarray, out_h: int, out_w: int) -> np.ndarray:
    """torch.nn.functional.interpolate(mode='area') of a (C,H,W) image, as float32."""
    c, h, w = img_chw.shape
    rows, cols = _pool_matrix(h, out_h), _pool_matrix(w, out_w)
    return (rows @ img_chw.astype(np.float64) @ cols.T).astype(F32)


def nms(boxes: np.ndarray, scores: np.ndarray, threshold: float) -> np.ndarray:
    """torchvision.ops.nms: IoU without +1, suppress IoU > threshold, keep in descending score order."""
    if len(boxes) == 0:
        return np.zeros(0, dtype=np.int64)
    x1, y1, x2, y2 = (boxes[:, i].astype(F32) for i in range(4))
    areas = (x2 - x1) * (y2 - y1)
    order = np.argsort(-scores.astype(F32), kind="stable")
    suppressed = np.zeros(len(boxes), bool)
    keep = []
    for a, i in enumerate(order):
        if suppressed[i]:
            continue
        keep.append(i)
        rest = order[a + 1:]
        w = np.maximum(F32(0), np.minimum(x2[i], x2[rest]) - np.maximum(x1[i], x1[rest]))
        h = np.maximum(F32(0), np.minimum(y2[i], y2[rest]) - np.maximum(y1[i], y1[rest]))
        inter = w * h
        iou = inter / (areas[i] + areas[rest] - inter)
        suppressed[rest[iou > threshold]] = True
    return np.array(keep, dtype=np.int64)


def nms_min(boxes: np.ndarray, scores: np.ndarray, threshold: float) -> np.ndarray:
    """facenet-pytorch's nms_numpy(..., 'Min'): +1 areas, overlap over the smaller area."""
    if len(boxes) == 0:
        return np.zeros(0, dtype=np.int64)
    x1, y1, x2, y2 = (boxes[:, i].copy() for i in range(4))
    area = (x2 - x1 + 1) * (y2 - y1 + 1)
    order = np.argsort(scores)
    pick = []
    while order.size > 0:
        i = order[-1]
        pick.append(i)
        idx = order[:-1]
        w = np.maximum(0.0, np.minimum(x2[i], x2[idx]) - np.maximum(x1[i], x1[idx]) + 1)
        h = np.maximum(0.0, np.minimum(y2[i], y2[idx]) - np.maximum(y1[i], y1[idx]) + 1)
        o = (w * h) / np.minimum(area[i], area[idx])
        order = idx[o <= threshold]
    return np.array(pick, dtype=np.int64)


def cell_boxes(reg: np.ndarray, prob: np.ndarray, scale: float, threshold: float) -> np.ndarray:
    """generateBoundingBox for one image: rows [x1, y1, x2, y2, score, dx1, dy1, dx2, dy2]."""
    ys, xs = np.nonzero(prob >= threshold)  # row-major, like torch's nonzero()
    bb = np.stack([xs, ys], axis=1).astype(F32)
    s = F32(scale)
    q1 = np.floor((F32(2) * bb + F32(1)) / s)
    q2 = np.floor((F32(2) * bb + F32(12)) / s)
    score = prob[ys, xs].astype(F32)[:, None]
    return np.concatenate([q1, q2, score, reg[:, ys, xs].T.astype(F32)], axis=1).astype(F32)


def rerec(b: np.ndarray) -> np.ndarray:
    """Squares boxes on their longer side around the centre (in place on a copy)."""
    b = b.copy()
    h = b[:, 3] - b[:, 1]
    w = b[:, 2] - b[:, 0]
    side = np.maximum(w, h)
    b[:, 0] = b[:, 0] + w * F32(0.5) - side * F32(0.5)
    b[:, 1] = b[:, 1] + h * F32(0.5) - side * F32(0.5)
    b[:, 2] = b[:, 0] + side
    b[:, 3] = b[:, 1] + side
    return b


def bbreg(b: np.ndarray, reg: np.ndarray) -> np.ndarray:
    b = b.copy()
    w = b[:, 2] - b[:, 0] + 1
    h = b[:, 3] - b[:, 1] + 1
    b[:, 0] += reg[:, 0] * w
    b[:, 1] += reg[:, 1] * h
    b[:, 2] += reg[:, 2] * w
    b[:, 3] += reg[:, 3] * h
    return b


def crops(img_chw: np.ndarray, boxes: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """facenet-pytorch pad() + crop + area resize: truncate to int, clamp to [1, w]/[1, h]."""
    _, h, w = img_chw.shape
    ib = np.trunc(boxes[:, :4]).astype(np.int64)
    x, y = np.maximum(ib[:, 0], 1), np.maximum(ib[:, 1], 1)
    ex, ey = np.minimum(ib[:, 2], w), np.minimum(ib[:, 3], h)
    out, kept = [], []
    for k in range(len(boxes)):
        if ey[k] > y[k] - 1 and ex[k] > x[k] - 1:
            out.append(area_resize(img_chw[:, y[k] - 1:ey[k], x[k] - 1:ex[k]], size, size))
            kept.append(k)
    data = np.stack(out) if out else np.zeros((0, 3, size, size), F32)
    return data, np.array(kept, dtype=np.int64)


def _norm(x):
    return mtcnn_normalise(x).astype(F32)


def detect(rgb: np.ndarray, nets: dict, min_face: int = MIN_FACE, factor: float = FACTOR,
           thresholds=THRESHOLDS) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """rgb (H,W,3) uint8. Returns boxes (N,4) x1,y1,x2,y2, probs (N,), landmarks (N,5,2)."""
    img = np.ascontiguousarray(rgb.transpose(2, 0, 1)).astype(F32)
    _, h, w = img.shape
    empty = (np.zeros((0, 4), F32), np.zeros(0, F32), np.zeros((0, 5, 2), F32))

    # Stage 1: P-Net over the pyramid.
    found = []
    for scale in pyramid_scales(h, w, min_face, factor):
        level = area_resize(img, int(h * scale + 1), int(w * scale + 1))
        reg, prob = pnet(nets["pnet"], _norm(level)[None])
        b = cell_boxes(reg[0], prob[0, 1], scale, thresholds[0])
        found.append(b[nms(b[:, :4], b[:, 4], 0.5)])
    boxes = np.concatenate(found) if found else np.zeros((0, 9), F32)
    boxes = boxes[nms(boxes[:, :4], boxes[:, 4], 0.7)]
    if len(boxes) == 0:
        return empty
    regw, regh = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    q = np.stack([boxes[:, 0] + boxes[:, 5] * regw, boxes[:, 1] + boxes[:, 6] * regh,
                  boxes[:, 2] + boxes[:, 7] * regw, boxes[:, 3] + boxes[:, 8] * regh, boxes[:, 4]], axis=1)
    boxes = rerec(q.astype(F32))

    # Stage 2: R-Net on 24x24 crops.
    data, kept = crops(img, boxes, 24)
    boxes = boxes[kept]
    if len(boxes) == 0:
        return empty
    reg, prob = rnet(nets["rnet"], _norm(data))
    score = prob[:, 1]
    ok = score > thresholds[1]
    boxes = np.concatenate([boxes[ok, :4], score[ok, None]], axis=1).astype(F32)
    reg = reg[ok]
    pick = nms(boxes[:, :4], boxes[:, 4], 0.7)
    boxes = rerec(bbreg(boxes[pick], reg[pick]))
    if len(boxes) == 0:
        return empty

    # Stage 3: O-Net on 48x48 crops, landmarks, final 'Min' NMS.
    data, kept = crops(img, boxes, 48)
    boxes = boxes[kept]
    if len(boxes) == 0:
        return empty
    reg, marks, prob = onet(nets["onet"], _norm(data))
    score = prob[:, 1]
    ok = score > thresholds[2]
    boxes = np.concatenate([boxes[ok, :4], score[ok, None]], axis=1).astype(F32)
    reg, marks = reg[ok], marks[ok]
    wi = boxes[:, 2] - boxes[:, 0] + 1
    hi = boxes[:, 3] - boxes[:, 1] + 1
    px = wi[:, None] * marks[:, :5] + boxes[:, 0:1] - 1
    py = hi[:, None] * marks[:, 5:10] + boxes[:, 1:2] - 1
    points = np.stack([px, py], axis=2).astype(F32)
    boxes = bbreg(boxes, reg)
    pick = nms_min(boxes[:, :4], boxes[:, 4], 0.7)
    boxes, points = boxes[pick], points[pick]

    order = np.argsort((boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1]))[::-1]
    return boxes[order, :4], boxes[order, 4], points[order]
