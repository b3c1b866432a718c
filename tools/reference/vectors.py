"""Parity test vectors: one safetensors file per case under .cache/vectors/<suite>/<case>.safetensors.

Each file holds the inputs, weights and the numpy reference outputs of one case; its metadata has
"op" (what the Swift side must run) and "params" (JSON with the hyper-parameters). The Swift
parity tests enumerate the folder, run the op and compare with the stored outputs.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import safetensors_io  # noqa: E402

ROOT = Path(__file__).resolve().parents[2] / ".cache" / "vectors"


def save_case(suite: str, case: str, op: str, params: dict, tensors: dict[str, np.ndarray],
              root: Path = ROOT) -> Path:
    path = root / suite / f"{case}.safetensors"
    tensors = {k: np.asarray(v, dtype=np.float32) if np.asarray(v).dtype.kind == "f" else np.asarray(v)
               for k, v in tensors.items()}
    safetensors_io.save(path, tensors, {"op": op, "params": json.dumps(params, sort_keys=True)})
    return path
