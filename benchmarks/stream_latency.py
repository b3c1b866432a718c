"""Live latency of GET /v1/stream next to its request/response peer: WolfgangLanger_Pexels.mp4's frames
(JPEGs at the clip's 24 fps, ffmpeg CLI) sent at --fps over one WebSocket session, against the same
frames sent one `POST /v1/frames` each (one image per request, sequential, same pacing). Prints p50 /
p99 frame-to-answer latency of both and the frames the stream dropped. The target of issue 17:
p99 <= 100 ms at 15 fps on 2 cores. `--busy N`: N clients keep POSTing the clip to /v1/analyze?fps=24
during the stream (live frames share the compute threads with them: docs/pipeline.md).
Usage: .venv/bin/python benchmarks/stream_latency.py [--fps 15] [--seconds 20] [--busy 0]"""
import argparse
import asyncio
import os
import sys
import threading
import time

import requests

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "Tests", "integration"))
from service_server import CLIP, Server  # noqa: E402
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


class Busy:
    """`clients` threads analysing the clip back to back until stopped; counts the analyses finished."""

    def __init__(self, url, clients, key):
        self.stop, self.done = threading.Event(), 0
        body = open(CLIP, "rb").read()
        headers = {"Content-Type": "video/mp4", "Authorization": f"Bearer {key}"}

        def client():
            while not self.stop.is_set():
                r = requests.post(f"{url}/v1/analyze?fps=24", data=body, headers=headers, timeout=600)
                assert r.status_code == 200, r.text
                self.done += 1

        self.threads = [threading.Thread(target=client) for _ in range(clients)]
        for t in self.threads:
            t.start()

    def finish(self):
        self.stop.set()
        for t in self.threads:
            t.join()
        return self.done


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--fps", type=float, default=15)
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--busy", type=int, default=0, help="clients analysing the clip meanwhile")
    args = ap.parse_args()
    # The clip's frames at the pace asked for (every frame when --fps is 24).
    every = extract(["-vf", f"fps={FPS}", "-q:v", "3"], "%04d.jpg")
    step = FPS / args.fps
    jpegs = [every[int(k * step)] for k in range(int(min(len(every) / step, args.seconds * args.fps)))]
    key = "stream-test-key-0123456789"
    server = Server({"auth.api_keys": [key]})
    try:
        busy = Busy(server.url, args.busy, key)
        time.sleep(1 if args.busy else 0)  # the analyses under way
        try:
            estimates, state, code, latencies = asyncio.run(stream(server.url, jpegs, args.fps))
        finally:
            analyses = busy.finish()
        assert code == 1000
        s50, s99 = percentiles(latencies)
        server_peer = Server({"workers.count": 1})
        try:
            r50, r99 = percentiles(frames_requests(server_peer.url, jpegs, args.fps))
        finally:
            server_peer.stop()
        c = state["counts"]
        print(f"{len(jpegs)} frames at {args.fps:g} fps (640x360 JPEG), cores={os.cpu_count()}"
              + (f", {args.busy} clients analysing the clip meanwhile ({analyses} analyses)" if args.busy else ""))
        print(f"  /v1/stream (one session):      p50 {s50:6.1f} ms  p99 {s99:6.1f} ms  "
              f"analysed {c['analysed']} dropped {c['dropped']} unsent {c['unsent']}")
        print(f"  POST /v1/frames (per frame):   p50 {r50:6.1f} ms  p99 {r99:6.1f} ms")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
