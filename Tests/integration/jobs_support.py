"""Helpers for the async-job suites: submit, wait, a webhook receiver on 127.0.0.1 and the check of
its signature, and `affectd analyze` results to compare job results with."""
import hashlib
import hmac
import json
import os
import ssl
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests

from service_server import BIN, ROOT

MP4 = {"Content-Type": "video/mp4"}
FINISHED = {"succeeded", "failed", "cancelled"}


def submit(url, clip, query="", headers=None, timeout=30):
    with open(clip, "rb") as f:
        r = requests.post(f"{url}/v1/jobs{query}", data=f, headers={**MP4, **(headers or {})}, timeout=timeout)
    assert r.status_code == 202, r.text
    return r.json()["id"]


def wait_finished(url, job_id, timeout=180):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r = requests.get(f"{url}/v1/jobs/{job_id}", timeout=10)
        if r.status_code == 200 and r.json()["status"] in FINISHED:
            return r.json()
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} did not finish within {timeout} s: {r.status_code} {r.text[:300]}")


def wait_for(predicate, timeout=60, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"{what} not reached within {timeout} s")


_cli_cache = {}


def cli_result(clip, fps):
    """`affectd analyze --fps FPS CLIP`: the result a job on that clip must reproduce."""
    key = (clip, fps)
    if key not in _cli_cache:
        out = subprocess.run([BIN, "analyze", "--fps", str(fps), clip], capture_output=True, timeout=300, cwd=ROOT)
        assert out.returncode == 0, out.stderr.decode()
        _cli_cache[key] = json.loads(out.stdout)
    return _cli_cache[key]


def verify_signature(secret, header, body, tolerance=300):
    """The receiver's side of `affectd-signature: t=<unix>,v1=<hex>`."""
    fields = dict(part.split("=", 1) for part in header.split(","))
    expected = hmac.new(secret.encode(), f"{fields['t']}.".encode() + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, fields["v1"]) and abs(time.time() - int(fields["t"])) < tolerance


def self_signed(directory, name="localhost"):
    """A certificate for `name` (and its key) made by the openssl command: the https receiver's."""
    cert, key = os.path.join(directory, "cert.pem"), os.path.join(directory, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                    "-days", "1", "-subj", f"/CN={name}", "-addext", f"subjectAltName=DNS:{name}"],
                   check=True, capture_output=True, timeout=60)
    return cert, key


class Receiver:
    """A webhook receiver on 127.0.0.1 that answers `statuses` in turn (then 200) and keeps what it got;
    with `tls` (cert, key) it speaks https and its origin names localhost."""

    def __init__(self, statuses=(), tls=None):
        self.statuses = list(statuses)
        self.received = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append((dict(self.headers), body))
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.origin = f"http://127.0.0.1:{self.server.server_address[1]}"
        if tls:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls)
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
            self.origin = f"https://localhost:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()
