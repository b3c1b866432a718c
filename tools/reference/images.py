"""Decodes images and video frames to RGB uint8 with the ffmpeg CLI, the same decoder the Swift side uses."""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np


def _size(path: Path) -> tuple[int, int]:
    out = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
                          "stream=width,height", "-of", "json", str(path)],
                         check=True, capture_output=True).stdout
    s = json.loads(out)["streams"][0]
    return int(s["width"]), int(s["height"])


def decode_rgb(path: str | Path, frame: int = 0) -> np.ndarray:
    """Frame `frame` of an image or video as (H, W, 3) uint8 RGB (no scaling, no rotation)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: run `make setup` (scripts/fetch-testdata.sh)")
    w, h = _size(path)
    cmd = ["ffmpeg", "-v", "error", "-noautorotate", "-i", str(path)]
    if frame:
        cmd += ["-vf", f"select=eq(n\\,{frame})"]
    # swscale's flags change the chroma upsampling of some sizes (e.g. 1000x667 JPEGs): bilinear is
    # what Media's FrameConverter uses, so both sides get identical bytes.
    cmd += ["-sws_flags", "bilinear", "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"]
    raw = subprocess.run(cmd, check=True, capture_output=True).stdout
    if len(raw) != w * h * 3:
        raise ValueError(f"{path}: ffmpeg returned {len(raw)} bytes for {w}x{h} RGB")
    return np.frombuffer(raw, np.uint8).reshape(h, w, 3).copy()
