"""The REST API against a real `affectd serve` on 127.0.0.1 through python-requests and curl:
health, readiness, models, metrics consistency, every analysis route with real media, and the
refusals (404, 405, 411, 413, 415, 422) as problem+json."""
import base64
import json
import os
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from service_server import BIN, CLIP, EDGE, FEAT, ROOT, Server, metric, need

PROBLEM = "application/problem+json"
MP4 = {"Content-Type": "video/mp4"}


@pytest.fixture(scope="module")
def server():
    need(CLIP)
    s = Server({"workers.count": 2, "limits.max_body_bytes": 8 * 1024 * 1024})
    yield s
    assert s.stop() == 0, "affectd serve did not exit 0 on SIGTERM"


@pytest.fixture(scope="module")
def cli_result():
    """`affectd analyze` on the reference clip: the result the HTTP API must reproduce."""
    out = subprocess.run([BIN, "analyze", CLIP], capture_output=True, timeout=300, cwd=ROOT)
    assert out.returncode == 0, out.stderr.decode()
    return json.loads(out.stdout)


def assert_problem(r, status):
    assert r.status_code == status, r.text
    assert r.headers["Content-Type"] == PROBLEM
    body = r.json()
    assert body["status"] == status and body["detail"], body
    return body


def test_health_readiness_and_aliases(server):
    for path in ("/healthz", "/v2/health/live"):
        r = requests.get(server.url + path, timeout=5)
        assert (r.status_code, r.json()) == (200, {"status": "ok"})
    for path in ("/readyz", "/v2/health/ready"):
        r = requests.get(server.url + path, timeout=5)
        assert r.status_code == 200 and r.json()["status"] == "ready"
        # workers_alive counts request threads: 2 per compute thread by default.
        assert all(r.json()["checks"].values()) and r.json()["workers_alive"] == 4


def test_models_describes_the_loaded_package(server):
    r = requests.get(server.url + "/v1/models", timeout=5)
    assert r.status_code == 200
    manifest = json.load(open(os.path.join(ROOT, "models", "default", "manifest.json")))
    (m,) = r.json()["models"]
    assert (m["name"], m["version"]) == (manifest["name"], manifest["version"])
    assert sorted(n["name"] for n in m["networks"]) == sorted(manifest["networks"])
    assert m["provenance"] == manifest["provenance"]
    assert m["licenses"] == sorted({p["license"] for p in manifest["provenance"] if "license" in p})


def test_metrics_count_every_request_sent(server):
    before = metric(server.url, "affectd_requests_total", {"route": "/healthz", "status": "200"})
    with ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(lambda _: requests.get(server.url + "/healthz", timeout=5).status_code, range(200)))
    assert codes == [200] * 200
    assert metric(server.url, "affectd_requests_total", {"route": "/healthz", "status": "200"}) - before == 200
    assert metric(server.url, "affectd_request_duration_seconds_count", {"route": "/healthz"}) >= 200
    text = requests.get(server.url + "/metrics", timeout=5).text
    for name in ("affectd_queue_depth", "affectd_requests_in_flight", "affectd_busy_workers",
                 "affectd_frames_analysed_total", "affectd_faces_found_total", "affectd_queue_wait_seconds",
                 "affectd_decode_seconds"):
        assert f"\n{name}" in "\n" + text or f"# TYPE {name}" in text, f"{name} missing from /metrics"


def test_unknown_route_and_wrong_method(server):
    assert_problem(requests.get(server.url + "/nope", timeout=5), 404)
    r = requests.delete(server.url + "/healthz", timeout=5)
    assert_problem(r, 405)
    assert r.headers["Allow"] == "GET, HEAD"
    assert_problem(requests.get(server.url + "/v1/analyze", timeout=5), 405)
    assert_problem(requests.get(server.url + "/v1/jobs/0123456789abcdef01234567", timeout=5), 404)


def test_refusals_411_413_415(server):
    # curl -X POST without a body sends no Content-Length: 411.
    out = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST",
                          server.url + "/v1/analyze"], capture_output=True, text=True, timeout=10)
    assert out.stdout == "411"
    assert_problem(requests.post(server.url + "/v1/analyze", data=b"x" * 100, headers={"Content-Type": "text/plain"},
                                 timeout=5), 415)
    # Content-Length above limits.max_body_bytes (8 MiB): 413 before the body is read.
    big = b"\0" * (9 * 1024 * 1024)
    assert_problem(requests.post(server.url + "/v1/analyze", data=big, headers=MP4, timeout=30), 413)
    assert_problem(requests.post(server.url + "/v1/analyze?fps=0", data=b"x", headers=MP4, timeout=5), 400)
    assert_problem(requests.post(server.url + "/v1/analyze?colour=red", data=b"x", headers=MP4, timeout=5), 400)


@pytest.mark.parametrize("name,status", [
    ("random_bytes.mp4", 422), ("text.mp4", 422), ("truncated_header.mp4", 422), ("moov_missing.mov", 422),
    ("audio_only.m4a", 422), ("ffv1.mkv", 422), ("empty.mp4", 400),
])
def test_undecodable_media_is_a_clear_4xx(server, name, status):
    path = need(os.path.join(EDGE, name))
    before = metric(server.url, "affectd_media_rejected_total")
    r = requests.post(server.url + "/v1/analyze", data=open(path, "rb").read(), headers=MP4, timeout=60)
    if os.path.getsize(path) == 0:  # an empty body never reaches the decoder
        assert_problem(r, 400)
        return
    assert_problem(r, status)
    assert metric(server.url, "affectd_media_rejected_total") == before + 1
    assert requests.get(server.url + "/healthz", timeout=5).status_code == 200


def test_curl_analyze_equals_affectd_analyze(server, cli_result):
    out = subprocess.run(["curl", "-sS", "--fail-with-body", "--max-time", "300", "--data-binary", "@" + CLIP,
                          "-H", "Content-Type: video/mp4", server.url + "/v1/analyze"],
                         capture_output=True, timeout=310)
    assert out.returncode == 0, out.stdout[:500]
    assert json.loads(out.stdout) == cli_result
    assert cli_result["media"]["frames_analyzed"] > 0 and cli_result["summary"]["persons"] >= 1


def test_multipart_with_options_equals_raw_body(server):
    raw = requests.post(server.url + "/v1/analyze?fps=1&include=expressions", data=open(CLIP, "rb"),
                        headers={"Content-Type": "video/mp4"}, timeout=300)
    assert raw.status_code == 200, raw.text
    options = json.dumps({"fps": 1, "include": ["expressions"]})
    form = requests.post(server.url + "/v1/analyze", files={"file": ("clip.mp4", open(CLIP, "rb"), "video/mp4"),
                                                           "options": (None, options, "application/json")},
                         timeout=300)
    assert form.status_code == 200, form.text
    assert form.json() == raw.json()
    assert raw.json()["media"]["sample_fps"] == 1
    assert "expression" in raw.json()["frames"][0]["faces"][0]


def test_include_without_frames_drops_them(server):
    r = requests.post(server.url + "/v1/analyze?fps=1&include=", data=open(CLIP, "rb"), headers=MP4, timeout=300)
    assert r.status_code == 200 and "frames" not in r.json() and r.json()["summary"]["persons"] >= 1


def test_ndjson_stream_sends_frames_then_the_summary(server):
    plain = requests.post(server.url + "/v1/analyze?fps=2", data=open(CLIP, "rb"), headers=MP4, timeout=300).json()
    with requests.post(server.url + "/v1/analyze?fps=2&stream=ndjson", data=open(CLIP, "rb"),
                       headers={"Content-Type": "video/mp4"}, timeout=300, stream=True) as r:
        assert r.status_code == 200 and r.headers["Content-Type"] == "application/x-ndjson"
        assert r.headers.get("Transfer-Encoding") == "chunked"
        lines = [json.loads(line) for line in r.iter_lines() if line]
    frames, summary = lines[:-1], lines[-1]
    assert all(f["type"] == "frame" for f in frames) and summary["type"] == "summary"
    assert [f["t"] for f in frames] == [f["t"] for f in plain["frames"]]
    assert [f["t"] for f in frames] == sorted(f["t"] for f in frames)
    del summary["type"]
    plain.pop("frames")
    assert summary == plain


def test_frame_batch_multipart_and_json_agree(server):
    names = ["0-f1-su-ph.jpg", "multi_face.jpg", "Image_with_alpha.png"]
    paths = [need(os.path.join(FEAT, n)) for n in names]
    files = [(f"frame{i}", (os.path.basename(p), open(p, "rb"), "image/png" if p.endswith(".png") else "image/jpeg"))
             for i, p in enumerate(paths)]
    files.append(("timestamps", (None, "[0, 0.5, 1.5]", "application/json")))
    form = requests.post(server.url + "/v1/frames", files=files, timeout=120)
    assert form.status_code == 200, form.text
    body = {"frames": [{"image": base64.b64encode(open(p, "rb").read()).decode(), "t": t}
                       for p, t in zip(paths, [0, 0.5, 1.5])]}
    js = requests.post(server.url + "/v1/frames", json=body, timeout=120)
    assert js.status_code == 200, js.text
    assert form.json() == js.json()
    result = js.json()
    assert [f["t"] for f in result["frames"]] == [0, 0.5, 1.5]
    assert len(result["frames"][1]["faces"]) >= 2, "multi_face.jpg holds several faces"
    assert_problem(requests.post(server.url + "/v1/frames", json={"frames": [{"image": "!!!"}]}, timeout=10), 400)
    bad = requests.post(server.url + "/v1/frames", files=[("f", ("x.txt", b"hello", "text/plain"))], timeout=10)
    assert_problem(bad, 415)
    garbage = requests.post(server.url + "/v1/frames", files=[("f", ("x.jpg", b"not a jpeg", "image/jpeg"))],
                            timeout=10)
    assert_problem(garbage, 422)


def test_async_job_polls_to_the_same_result(server):
    sync = requests.post(server.url + "/v1/analyze?fps=1", data=open(CLIP, "rb"), headers=MP4, timeout=300).json()
    r = requests.post(server.url + "/v1/jobs?fps=1", data=open(CLIP, "rb"), headers=MP4, timeout=30)
    assert r.status_code == 202 and r.headers["Location"] == f"/v1/jobs/{r.json()['id']}"
    deadline = time.monotonic() + 300
    seen = set()
    while time.monotonic() < deadline:
        job = requests.get(server.url + r.headers["Location"], timeout=5).json()
        seen.add(job["status"])
        if job["status"] in ("succeeded", "failed", "cancelled"):
            break
        time.sleep(0.2)
    assert job["status"] == "succeeded", job
    assert job["progress"] == 1.0 and job["result"] == sync
    assert seen <= {"queued", "running", "succeeded"}


def test_async_job_cancel(server):
    # A slow job (every frame, expressions): DELETE while it runs cancels it.
    r = requests.post(server.url + "/v1/jobs?fps=30&include=expressions", data=open(CLIP, "rb"), headers=MP4,
                      timeout=30)
    assert r.status_code == 202
    loc = server.url + r.headers["Location"]
    time.sleep(0.5)
    d = requests.delete(loc, timeout=5)
    assert d.status_code == 200 and d.json()["status"] == "cancelled"
    time.sleep(0.5)
    job = requests.get(loc, timeout=5).json()
    assert job["status"] == "cancelled" and "result" not in job
    # The workers are free again: readiness stays up and a new request runs.
    assert requests.get(server.url + "/readyz", timeout=5).status_code == 200
    # Deleting a finished job removes it.
    assert requests.delete(loc, timeout=5).status_code == 200
    assert_problem(requests.get(loc, timeout=5), 404)


def test_label_with_a_support_set(server):
    support = os.path.join(ROOT, "Tests", "data", "WolfgangLanger_Pexels.support.json")
    if not os.path.exists(support):
        support_json = json.dumps([{"t": 2.0, "valence": -0.6, "arousal": 0.3},
                                   {"t": 15.0, "valence": 0.6, "arousal": 0.4}])
    else:
        support_json = open(support).read()
    r = requests.post(server.url + "/v1/label?fps=2", files={"file": ("clip.mp4", open(CLIP, "rb"), "video/mp4"),
                                                             "support": (None, support_json, "application/json")},
                      timeout=300)
    assert r.status_code == 200, r.text
    labels = r.json()["labels"]
    assert labels and any(lab["support"] for lab in labels)
    assert all(-1 <= lab["valence"] <= 1 and -1 <= lab["arousal"] <= 1 and 0 <= lab["confidence"] <= 1
               for lab in labels)
    assert_problem(requests.post(server.url + "/v1/label", files={"file": ("c.mp4", b"x", "video/mp4")}, timeout=10),
                   400)
