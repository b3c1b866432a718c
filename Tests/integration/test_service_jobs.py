"""Durable async jobs on the SQLite store with a real `affectd serve`: restart recovery after kill -9
(lease expiry, attempts recorded, results equal to `affectd analyze`), SIGTERM gives running jobs back,
Idempotency-Key, signed webhooks with retries and the allow-list, the listing and its limits."""
import json
import os
import signal
import subprocess
import tempfile

import pytest
import requests

from jobs_support import Receiver, cli_result, self_signed, submit, verify_signature, wait_finished, wait_for
from service_server import BIN, CLIP, FEAT, MODEL, ROOT, Server, metric, need, write_config

SHORT = os.path.join(FEAT, "single_face.mp4")
SECRET = "test-webhook-secret-0123456789"


def problem(r, status):
    assert r.status_code == status, r.text
    assert r.headers["Content-Type"] == "application/problem+json"
    return r.json()["detail"]


@pytest.fixture()
def data_dir():
    with tempfile.TemporaryDirectory(prefix="affectd-jobs-") as d:
        yield d


def store_settings(data_dir, **extra):
    # One request slot: one job runs at a time, the others wait queued (as the tests count attempts).
    return {"jobs.store": f"sqlite://{data_dir}/jobs.db", "workers.count": 1, "workers.active_requests": 1,
            "jobs.lease": 3, "jobs.poll_interval": 0.1, **extra}


def test_a_store_that_cannot_open_stops_the_start():
    path = write_config({"model.dir": MODEL, "jobs.store": "sqlite:///proc/affectd-none/jobs.db"})
    try:
        out = subprocess.run([BIN, "serve", "--config", path], capture_output=True, text=True, timeout=60, cwd=ROOT,
                             env={k: v for k, v in os.environ.items() if not k.startswith("AFFECTD_")})
    finally:
        os.unlink(path)
    assert out.returncode == 1 and "jobs.store" in out.stderr and "start-up failed" in out.stderr, out.stderr


def test_kill_9_and_restart_loses_nothing(data_dir):
    """Jobs accepted by a replica that is killed mid-run are run by its successor: every job ends
    succeeded with the CLI's result; the interrupted one shows two attempts; its upload is gone."""
    need(CLIP)
    settings = store_settings(data_dir)
    first = Server(settings)
    try:
        slow = submit(first.url, CLIP, "?fps=10")
        quick = [submit(first.url, SHORT, "?fps=5") for _ in range(2)]
        wait_for(lambda: requests.get(f"{first.url}/v1/jobs/{slow}", timeout=5).json()["status"] == "running",
                 what="the first job running")
        os.kill(first.proc.pid, signal.SIGKILL)
        first.proc.wait()
    finally:
        first.kill()
    second = Server(settings)
    try:
        jobs = {slow: wait_finished(second.url, slow)} | {j: wait_finished(second.url, j) for j in quick}
        assert all(job["status"] == "succeeded" for job in jobs.values()), jobs
        assert jobs[slow]["result"] == cli_result(CLIP, 10)
        assert all(jobs[j]["result"] == cli_result(SHORT, 5) for j in quick)
        assert jobs[slow]["attempts"] == 2 and all(jobs[j]["attempts"] == 1 for j in quick)
        assert metric(second.url, "affectd_job_lease_expiries_total") == 1
        # The store's counts reach /metrics (refreshed every 5 s): the autoscaler's signal.
        wait_for(lambda: metric(second.url, "affectd_jobs", {"status": "succeeded"}) == 3, timeout=15,
                 what="affectd_jobs{status=succeeded} 3")
        assert metric(second.url, "affectd_jobs", {"status": "queued"}) == 0
        assert os.listdir(os.path.join(data_dir, "uploads")) == []
    finally:
        assert second.stop() == 0


def test_sigterm_gives_running_jobs_back_to_the_queue(data_dir):
    need(CLIP)
    settings = store_settings(data_dir, **{"shutdown.drain_timeout": 0.5})
    first = Server(settings)
    try:
        job = submit(first.url, CLIP, "?fps=30&include=expressions")
        wait_for(lambda: requests.get(f"{first.url}/v1/jobs/{job}", timeout=5).json()["status"] == "running",
                 what="the job running")
        first.proc.send_signal(signal.SIGTERM)
        assert first.proc.wait(timeout=60) == 0
        assert any("jobs released to the queue" in line for line in first.stderr_lines())
    finally:
        first.kill()
    second = Server({**settings, "jobs.poll_interval": 60})  # it claims at start, then not before the check
    try:
        # Released, not lost: queued again with its attempt not counted, and the new replica runs it.
        record = requests.get(f"{second.url}/v1/jobs/{job}", timeout=5).json()
        assert record["status"] in ("queued", "running") and record["attempts"] <= 1, record
        assert requests.delete(f"{second.url}/v1/jobs/{job}", timeout=5).json()["status"] == "cancelled"
        assert os.listdir(os.path.join(data_dir, "uploads")) == []
    finally:
        assert second.stop() == 0


@pytest.fixture(scope="module")
def hooks():
    receiver = Receiver()
    server = Server({"workers.count": 1, "jobs.poll_interval": 0.1, "jobs.webhook_allow": [receiver.origin],
                     "jobs.webhook_secret": SECRET, "jobs.webhook_backoff": 0.2})
    yield server, receiver
    assert server.stop() == 0
    receiver.close()


def test_webhook_retries_until_delivered_and_is_signed(hooks):
    server, receiver = hooks
    receiver.statuses = [500, 503]
    metadata = json.dumps({"order": 42, "tags": ["a", "b"]})
    with open(SHORT, "rb") as f:
        r = requests.post(f"{server.url}/v1/jobs", files={"file": ("clip.mp4", f, "video/mp4"),
                                                          "callback_url": (None, receiver.origin + "/done?x=1"),
                                                          "metadata": (None, metadata)}, timeout=30)
    assert r.status_code == 202, r.text
    job = r.json()
    assert job["callback_url"] == receiver.origin + "/done?x=1" and job["metadata"] == json.loads(metadata)
    wait_for(lambda: len(receiver.received) >= 3, timeout=30, what="three deliveries")
    headers, body = receiver.received[-1]
    delivered = json.loads(body)
    assert delivered["id"] == job["id"] and delivered["status"] == "succeeded"
    assert delivered["metadata"] == {"order": 42, "tags": ["a", "b"]} and delivered["result"] == cli_result(SHORT, 5)
    assert verify_signature(SECRET, headers["affectd-signature"], body)
    assert not verify_signature("another-secret-0123456789", headers["affectd-signature"], body)
    assert all(verify_signature(SECRET, h["affectd-signature"], b) for h, b in receiver.received)
    record = wait_for(lambda: (lambda j: j if j["webhook"]["state"] == "delivered" else None)(
        requests.get(f"{server.url}/v1/jobs/{job['id']}", timeout=5).json()), what="delivered state")
    assert [d["status"] for d in record["webhook"]["deliveries"]] == [500, 503, 200]
    assert metric(server.url, "affectd_webhook_deliveries_total", {"outcome": "retry"}) == 2
    assert metric(server.url, "affectd_webhook_deliveries_total", {"outcome": "delivered"}) == 1


def test_callback_refusals(hooks):
    server, receiver = hooks
    port = int(receiver.origin.rsplit(":", 1)[1])
    for url in (f"http://127.0.0.1:{port + 1}/x", "http://169.254.169.254/latest/meta-data", "https://127.0.0.1/",
                "http://" + "a" * 3000, "file:///etc/passwd"):
        with open(SHORT, "rb") as f:
            r = requests.post(f"{server.url}/v1/jobs", params={"callback_url": url}, data=f,
                              headers={"Content-Type": "video/mp4"}, timeout=30)
        problem(r, 400)
    for metadata, status in (("[1]", 400), ("{not json", 400), (json.dumps({"k": "v" * 17000}), 413)):
        with open(SHORT, "rb") as f:
            r = requests.post(f"{server.url}/v1/jobs", files={"file": ("c.mp4", f, "video/mp4"),
                                                              "metadata": (None, metadata)}, timeout=30)
        problem(r, status)


def test_https_webhook_verifies_the_receivers_certificate(data_dir):
    """https: delivered when the certificate chains to jobs.webhook_ca_file; with the system's CAs the
    self-signed receiver is refused, each attempt recorded, until the retry window closes."""
    cert, key = self_signed(data_dir)
    receiver = Receiver(tls=(cert, key))
    common = {"workers.count": 1, "jobs.poll_interval": 0.1, "jobs.webhook_allow": [receiver.origin],
              "jobs.webhook_secret": SECRET, "jobs.webhook_backoff": 0.2}
    trusting = Server({**common, "jobs.webhook_ca_file": cert})
    try:
        job = submit(trusting.url, SHORT, f"?fps=1&callback_url={receiver.origin}/hook")
        wait_for(lambda: receiver.received, timeout=30, what="an https delivery")
        headers, body = receiver.received[0]
        assert json.loads(body)["id"] == job and verify_signature(SECRET, headers["affectd-signature"], body)
    finally:
        assert trusting.stop() == 0
    strict = Server({**common, "jobs.webhook_retry_for": 1})
    try:
        job = submit(strict.url, SHORT, f"?fps=1&callback_url={receiver.origin}/hook")
        record = wait_for(lambda: (lambda j: j if j.get("webhook", {}).get("state") == "failed" else None)(
            requests.get(f"{strict.url}/v1/jobs/{job}", timeout=5).json()), timeout=30, what="given up")
        assert all("certificate" in d["error"] and "status" not in d for d in record["webhook"]["deliveries"])
        assert metric(strict.url, "affectd_webhook_deliveries_total", {"outcome": "gave_up"}) == 1
        assert len(receiver.received) == 1
    finally:
        assert strict.stop() == 0
        receiver.close()


def test_default_config_refuses_every_callback():
    server = Server({"workers.count": 1})
    try:
        with open(SHORT, "rb") as f:
            r = requests.post(f"{server.url}/v1/jobs?callback_url=http://127.0.0.1:9/hook", data=f,
                              headers={"Content-Type": "video/mp4"}, timeout=30)
        assert "not allowed" in problem(r, 400)
    finally:
        assert server.stop() == 0


def test_idempotency_key(hooks):
    server, _ = hooks
    key = {"Idempotency-Key": "order-42-attempt"}
    first = submit(server.url, SHORT, "?fps=2", key)
    with open(SHORT, "rb") as f:
        again = requests.post(f"{server.url}/v1/jobs?fps=2", data=f, headers={"Content-Type": "video/mp4", **key},
                              timeout=30)
    assert again.status_code == 202 and again.json()["id"] == first and again.headers["Idempotent-Replayed"] == "true"
    with open(SHORT, "rb") as f:
        other = requests.post(f"{server.url}/v1/jobs?fps=3", data=f, headers={"Content-Type": "video/mp4", **key},
                              timeout=30)
    problem(other, 409)
    listed = requests.get(f"{server.url}/v1/jobs?limit=500", timeout=5).json()["jobs"]
    assert sum(1 for j in listed if j["id"] == first) == 1
    longest = submit(server.url, SHORT, "?fps=2", {"Idempotency-Key": "k" * 255})
    for bad in ("k" * 256, "with space", "caf\u00e9"):
        with open(SHORT, "rb") as f:
            r = requests.post(f"{server.url}/v1/jobs", data=f,
                              headers={"Content-Type": "video/mp4", "Idempotency-Key": bad.encode()}, timeout=30)
        problem(r, 400)
    wait_finished(server.url, first)
    wait_finished(server.url, longest)


def test_listing_pages_filters_and_limits(hooks):
    server, _ = hooks
    ids = [submit(server.url, SHORT, "?fps=1") for _ in range(3)]
    for j in ids:
        wait_finished(server.url, j)
    seen, cursor = [], None
    while True:
        page = requests.get(f"{server.url}/v1/jobs", params={"limit": 2, **({"cursor": cursor} if cursor else {})},
                            timeout=5).json()
        assert len(page["jobs"]) <= 2 and all("result" not in j for j in page["jobs"])
        seen += [j["id"] for j in page["jobs"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen[-3:] == ids and len(seen) == len(set(seen))
    succeeded = requests.get(f"{server.url}/v1/jobs?status=succeeded&limit=500", timeout=5).json()["jobs"]
    assert set(ids) <= {j["id"] for j in succeeded} and all(j["status"] == "succeeded" for j in succeeded)
    for query in ("limit=0", "limit=501", "limit=x", "status=done", "cursor=-1", "cursor=x", "sort=id"):
        problem(requests.get(f"{server.url}/v1/jobs?{query}", timeout=5), 400)
