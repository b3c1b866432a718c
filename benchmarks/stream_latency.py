"""Live latency of GET /v1/stream next to its request/response peer: WolfgangLanger_Pexels.mp4's frames
(JPEGs at the clip's 24 fps, ffmpeg CLI) sent at --fps over one WebSocket session, against the same
frames sent one `POST /v1/frames` each (one image per request, sequential, same pacing). Prints p50 /
p99 frame-to-answer latency of both and the frames the stream dropped. The target of issue 17:
p99 <= 100 ms at 15 fps on 2 cores.
Usage: .venv/bin/python benchmarks/stream_latency.py [--fps 15] [--seconds 20]"""
import argparse
import asyncio
import os
import sys
import time

import requests

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "Tests", "integration"))
from service_server import Server  # noqa: E402
from test_stream import FPS, extract, stream  # noqa: E402


def percentiles(seconds):
    xs = sorted(seconds)
    return xs[len(xs) // 2] * 1e3, xs[max(0, int(len(xs) * 0.99) - 1)] * 1e3


def frames_requests(url, jpegs, fps):
    out = []
    with requests.Session() as s:
        t0 = time.perf_counter()
        for i, jpeg in enumerate(jpegs):
            time.sleep(max(0.0, t0 + i / fps - time.perf_counter()))
            start = time.perf_counter()
            r = s.post(url + "/v1/frames", files={"f": ("f.jpg", jpeg, "image/jpeg")}, timeout=30)
            assert r.status_code == 200, r.text
            out.append(time.perf_counter() - start)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--fps", type=float, default=15)
    ap.add_argument("--seconds", type=float, default=20)
    args = ap.parse_args()
    # The clip's frames at the pace asked for (every frame when --fps is 24).
    every = extract(["-vf", f"fps={FPS}", "-q:v", "3"], "%04d.jpg")
    step = FPS / args.fps
    jpegs = [every[int(k * step)] for k in range(int(min(len(every) / step, args.seconds * args.fps)))]
    server = Server({"auth.api_keys": ["stream-test-key-0123456789"]})
    try:
        estimates, state, code, latencies = asyncio.run(stream(server.url, jpegs, args.fps))
        assert code == 1000
        s50, s99 = percentiles(latencies)
        server_peer = Server({"workers.count": 1})
        try:
            r50, r99 = percentiles(frames_requests(server_peer.url, jpegs, args.fps))
        finally:
            server_peer.stop()
        c = state["counts"]
        print(f"{len(jpegs)} frames at {args.fps:g} fps (640x360 JPEG), cores={os.cpu_count()}")
        print(f"  /v1/stream (one session):      p50 {s50:6.1f} ms  p99 {s99:6.1f} ms  "
              f"analysed {c['analysed']} dropped {c['dropped']} unsent {c['unsent']}")
        print(f"  POST /v1/frames (per frame):   p50 {r50:6.1f} ms  p99 {r99:6.1f} ms")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
