"""Fixtures shared by the integration suites.

`base`: `affectd-bench http-echo` (a developer server with trivial routes and a WebSocket echo on
/ws) on 127.0.0.1 with an ephemeral port. Needs the release binary: `make build` (or set
AFFECTD_BENCH_BIN).
"""
import os
import re
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.environ.get("AFFECTD_BENCH_BIN", os.path.join(ROOT, ".build", "release", "affectd-bench"))
MAX_BODY = 200_000  # test_http_echo.py checks the 413 past it


@pytest.fixture(scope="module")
def base():
    if not os.access(BIN, os.X_OK):
        pytest.fail(f"affectd-bench binary not found at {BIN}: run `make build` or set AFFECTD_BENCH_BIN")
    proc = subprocess.Popen([BIN, "http-echo", "--port", "0", "--max-body-bytes", str(MAX_BODY),
                             "--max-in-memory-body-bytes", "65536"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        line = proc.stdout.readline()
        m = re.search(r"listening on 127\.0\.0\.1:(\d+)", line)
        assert m, f"http-echo did not start: {line!r}"
        yield f"http://127.0.0.1:{m.group(1)}"
    finally:
        proc.terminate()
        assert proc.wait(timeout=10) == 0, "http-echo did not exit cleanly on SIGTERM"
