"""Requests that share the frame scheduler's compute threads still get exactly the CLI's result:
several analyses (different clips and options, an async job among them) run concurrently on a real
server, and each JSON body must equal `affectd analyze` of the same input and options byte for byte;
the scheduler's per-class metrics count what ran."""
import concurrent.futures
import json
import os
import subprocess
import time

import pytest
import requests
from service_server import BIN, CLIP, FEAT, ROOT, Server, metric

MP4 = {"Content-Type": "video/mp4"}
# (file, HTTP query, the same options for `affectd analyze`)
CASES = [
    (CLIP, "fps=2", ["--fps", "2"]),
    (CLIP, "fps=8&include=expressions", ["--fps", "8", "--include", "expressions"]),
    (os.path.join(FEAT, "single_face.mp4"), "fps=30&max_faces=1", ["--fps", "30", "--max-faces", "1"]),
    (os.path.join(FEAT, "multi_face.jpg"), "", []),
    (CLIP, "fps=8&between_detections=reuse", ["--fps", "8", "--between-detections", "reuse"]),
    (CLIP, "fps=8", ["--fps", "8"]),
]
REUSE, TRACK = 4, 5


@pytest.fixture(scope="module")
def server():
    s = Server({"log.level": "notice"})
    yield s
    assert s.stop() == 0


@pytest.fixture(scope="module")
def cli_bodies():
    """`affectd analyze` stdout per case (one compute thread: the order of work differs from the server's)."""
    out = []
    for path, _, args in CASES:
        r = subprocess.run([BIN, "analyze", "--workers", "1", *args, path], capture_output=True, timeout=300, cwd=ROOT)
        assert r.returncode == 0, r.stderr.decode()
        out.append(r.stdout.rstrip(b"\n"))
    return out


def content_type(path):
    return "application/octet-stream" if path.endswith(".jpg") else "video/mp4"  # /v1/analyze takes stills as a clip


def run_sync(url, k):
    path, query, _ = CASES[k]
    r = requests.post(f"{url}/v1/analyze?{query}", data=open(path, "rb").read(),
                      headers={"Content-Type": content_type(path)}, timeout=300)
    assert r.status_code == 200, r.text
    return k, r.content


def run_job(url, k):
    path, query, _ = CASES[k]
    r = requests.post(f"{url}/v1/jobs?{query}", data=open(path, "rb").read(),
                      headers={"Content-Type": content_type(path)}, timeout=30)
    assert r.status_code == 202, r.text
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        job = requests.get(url + r.headers["Location"], timeout=10).json()
        if job["status"] in ("succeeded", "failed", "cancelled"):
            break
        time.sleep(0.1)
    assert job["status"] == "succeeded", job
    return k, job["result"]


def test_concurrent_requests_equal_the_cli_byte_for_byte(server, cli_bodies):
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        syncs = [pool.submit(run_sync, server.url, k % len(CASES)) for k in range(2 * len(CASES))]
        jobs = [pool.submit(run_job, server.url, k) for k in (0, 2, REUSE)]
        for f in syncs:
            k, body = f.result()
            assert body == cli_bodies[k], f"case {CASES[k][:2]} differs from affectd analyze"
        for f in jobs:
            k, result = f.result()
            assert result == json.loads(cli_bodies[k])

    # The scheduler's metrics saw both classes: 8 interactive requests and 2 jobs, each of >= 1 chunk.
    classes = ("interactive", "batch")
    busy = {c: metric(server.url, "affectd_scheduler_busy_seconds_total", {"class": c}) for c in classes}
    waits = {c: metric(server.url, "affectd_scheduler_queue_wait_seconds_count", {"class": c}) for c in classes}
    assert busy["interactive"] > 0 and busy["batch"] > 0, busy
    assert waits["interactive"] >= 8 and waits["batch"] >= 3, waits


def test_between_detections_chooses_reuse_or_tracking(server, cli_bodies):
    # The option reaches the analysis (the bodies differ: boxes followed vs reused), and a bad value is a 400.
    assert cli_bodies[REUSE] != cli_bodies[TRACK]
    image = open(os.path.join(FEAT, "multi_face.jpg"), "rb").read()
    r = requests.post(f"{server.url}/v1/analyze?between_detections=follow", data=image,
                      headers={"Content-Type": "application/octet-stream"}, timeout=30)
    assert r.status_code == 400 and "between_detections" in r.json()["detail"], r.text
