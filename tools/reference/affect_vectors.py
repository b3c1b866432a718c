"""Fixed-seed parity vectors for the Affect module -> .cache/vectors/affect/.

- kalman_*.safetensors (op "kalman_rts"): irregular sample times, confidences with zeros (unseen
  frames), head variances; inputs t [n], y [n, 2], confidence [n], head_var [n, 2]; outputs
  expected.{filtered,smoothed}_{mean,var} [n, 2], NaN where there is no estimate.
- centroids.safetensors (op "centroid_projection"): random posteriors and random centroids.
- packages/<name>/ (manifest.json + weights.safetensors, random weights) with a case file
  <name>.safetensors (op "affect_package"; params: package dir, head "va_head" | "temporal",
  optional expect_error) holding the per-source inputs and expected.va:
  fusion_mlp (trained fusion head over scene+person+face, tanh), fusion_zero_scene_person (the
  same with declared and real zero scene/person weights, clip), fusion_false_zero (declares zero
  weights it does not have: loading must fail), temporal_mamba_va (TCN -> TCN -> Mamba -> FC -> FC).
"""
from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from vectors import ROOT, save_case  # noqa: E402  (also puts tools/ on the path)
import affect as ref  # noqa: E402
import safetensors_io  # noqa: E402
import sequence  # noqa: E402
from sequence_vectors import _conv, _f32  # noqa: E402

SUITE = "affect"
CLASSES = ["anger", "disgust", "fear", "happy", "sad", "surprise", "neutral"]


def kalman_cases(rng, root):
    q, r0 = 0.1, 0.02
    # (case, n, fraction unseen, unseen at both ends)
    for case, n, unseen, ends in [("kalman_irregular", 40, 0.2, False), ("kalman_gaps_and_ends", 60, 0.35, True),
                                  ("kalman_single", 5, 0.0, True)]:
        t = _f32(np.cumsum(rng.uniform(0.02, 0.5, n)))
        y = _f32(np.clip(np.cumsum(rng.normal(0, 0.1, (n, 2)), axis=0), -1, 1))
        conf = _f32(rng.uniform(0.05, 1.0, n) * (rng.uniform(size=n) >= unseen))
        if ends:
            conf[:3] = 0
            conf[-4:] = 0
        if case == "kalman_single":
            conf[:] = 0
            conf[2] = 0.7
        head_var = _f32(rng.uniform(0, 0.2, (n, 2)))
        out = ref.rts_smoother(t, y, conf, head_var, q, r0)
        save_case(SUITE, case, "kalman_rts", {"process_noise": q, "observation_noise": r0},
                  {"t": t, "y": y, "confidence": conf, "head_var": head_var,
                   **{"expected." + k: v for k, v in out.items()}}, root)


def random_centroids(rng):
    return [{"class": c,
             "valence_mean": float(_f32(rng.uniform(-0.8, 0.8))), "valence_sd": float(_f32(rng.uniform(0.05, 0.3))),
             "arousal_mean": float(_f32(rng.uniform(-0.8, 0.8))), "arousal_sd": float(_f32(rng.uniform(0.05, 0.3))),
             "n": 500}
            for c in CLASSES]


def centroid_case(rng, root):
    centroids = random_centroids(rng)
    logits = rng.normal(0, 2, (50, len(CLASSES)))
    p = _f32(np.exp(logits) / np.exp(logits).sum(1, keepdims=True))
    va, var = ref.centroid_projection(p, centroids)
    head = {"type": "centroid_projection", "centroids": centroids, "source": "random test figures",
            "fusion": {"scene": 0, "person": 0, "note": "test"}}
    save_case(SUITE, "centroids", "centroid_projection", {"va_head": head},
              {"posterior": p, "expected.va": va, "expected.variance": var}, root)


def write_package(root, name, networks, affect, weights):
    d = root / SUITE / "packages" / name
    safetensors_io.save(d / "weights.safetensors", {k: np.asarray(v, np.float32) for k, v in weights.items()})
    blob = (d / "weights.safetensors").read_bytes()
    manifest = {"format": "affectd-model/1", "name": f"test-{name}", "version": "0",
                "description": "random weights for parity tests (tools/reference/affect_vectors.py)",
                "files": [{"path": "weights.safetensors", "bytes": len(blob),
                           "sha256": hashlib.sha256(blob).hexdigest()}],
                "provenance": [{"network": n, "trained": False, "note": "random test weights"} for n in networks],
                "networks": networks, "affect": affect}
    (d / "manifest.json").write_text(json.dumps(manifest, indent=1))
    return f"packages/{name}"


def linear_init(rng, out_f, in_f, prefix):
    b = in_f ** -0.5
    return {prefix + ".weight": _f32(rng.uniform(-b, b, (out_f, in_f))),
            prefix + ".bias": _f32(rng.uniform(-b, b, out_f))}


def fusion_cases(rng, root):
    widths = {"scene": 24, "person": 20, "face": 11}
    network = {"file": "weights.safetensors",
               "inputs": [{"name": s, "shape": [w]} for s, w in widths.items()],
               "blocks": [{"op": "concat", "name": "x", "inputs": list(widths)},
                          {"op": "linear", "name": "fc1", "weight": "head.fc1.weight", "bias": "head.fc1.bias",
                           "activation": "relu"},
                          {"op": "linear", "name": "fc2", "weight": "head.fc2.weight", "bias": "head.fc2.bias"}]}
    total = sum(widths.values())
    for name, squash, zero, honest in [("fusion_mlp", "tanh", False, True),
                                       ("fusion_zero_scene_person", "clip", True, True),
                                       ("fusion_false_zero", "tanh", True, False)]:
        w = {**linear_init(rng, 16, total, "head.fc1"), **linear_init(rng, 2, 16, "head.fc2")}
        w["head.fc2.weight"] = _f32(w["head.fc2.weight"] * 3)    # outputs beyond [-1, 1] exercise the squash
        if zero and honest:
            w["head.fc1.weight"][:, :widths["scene"] + widths["person"]] = 0
        head = {"type": "network", "network": "va_fusion", "inputs": list(widths), "output": squash}
        if zero:
            head["zero_inputs"] = ["scene", "person"]
        pkg = write_package(root, name, {"va_fusion": network}, {"va_head": head}, w)
        x = {s: _f32(rng.standard_normal((9, wd))) for s, wd in widths.items()}
        va = ref.fusion_mlp([x[s] for s in widths], w, squash)
        params = {"package": pkg, "head": "va_head"}
        if not honest:
            params["expect_error"] = "declares zero weights"
        save_case(SUITE, name, "affect_package", params, {**x, "expected.va": va}, root)


def temporal_case(rng, root):
    T, widths = 23, {"face": 10, "expression": 7}
    F = sum(widths.values())
    tcn = [{"prefix": "temporal.tcn.0.", "dilation": 1, "cin": F, "cout": 12},
           {"prefix": "temporal.tcn.1.", "dilation": 2, "cin": 12, "cout": 8}]
    mamba = {"prefix": "temporal.mamba.0.", "d_state": 4, "d_conv": 4, "expand": 1}
    w = {}
    for b in tcn:
        w.update({b["prefix"] + k: v for k, v in {**_conv(rng, b["cout"], b["cin"], 3, "conv1", True),
                                                   **_conv(rng, b["cout"], b["cout"], 3, "conv2", False),
                                                   **_conv(rng, b["cout"], b["cin"], 1, "downsample", False)}.items()})
    w.update({mamba["prefix"] + k: v for k, v in sequence.mamba_init(rng, 8, 4, 4, 1).items()})
    w.update(linear_init(rng, 6, 8, "temporal.fc1"))
    w.update(linear_init(rng, 2, 6, "temporal.fc2"))
    w = {k: _f32(v) for k, v in w.items()}
    network = {"file": "weights.safetensors", "inputs": [{"name": "features", "shape": [None, F]}],
               "blocks": [*[{"op": "tcn_block", "prefix": b["prefix"], "kernel_size": 3, "dilation": b["dilation"]}
                            for b in tcn],
                          {"op": "mamba", "prefix": mamba["prefix"], "d_state": 4, "d_conv": 4, "expand": 1},
                          {"op": "linear", "weight": "temporal.fc1.weight", "bias": "temporal.fc1.bias",
                           "activation": "relu"},
                          {"op": "linear", "weight": "temporal.fc2.weight", "bias": "temporal.fc2.bias"}]}
    affect = {"va_head": {"type": "centroid_projection", "centroids": random_centroids(rng),
                          "source": "random test figures", "fusion": {"scene": 0, "person": 0, "note": "test"}},
              "temporal": {"type": "network", "network": "temporal", "inputs": list(widths), "output": "tanh"}}
    pkg = write_package(root, "temporal_mamba_va", {"temporal": network}, affect, w)
    x = {s: _f32(rng.standard_normal((T, wd))) for s, wd in widths.items()}
    va = ref.sequence_head(np.concatenate([x["face"], x["expression"]], 1)[None], w, tcn, mamba, "tanh")[0]
    save_case(SUITE, "temporal_mamba_va", "affect_package", {"package": pkg, "head": "temporal"},
              {**x, "expected.va": va}, root)


def generate(root: Path = ROOT) -> None:
    rng = np.random.default_rng(20261121)
    kalman_cases(rng, root)
    centroid_case(rng, root)
    fusion_cases(rng, root)
    temporal_case(rng, root)


if __name__ == "__main__":
    generate()
    print(f"affect vectors -> {ROOT / SUITE}")
