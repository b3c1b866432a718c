"""The HTTP server through python-requests (an independent HTTP client stack: urllib3).

Runs against `affectd-bench http-echo` (the `base` fixture in conftest.py).
"""
import os
import re

import requests
from conftest import MAX_BODY, ROOT

def test_session_keeps_the_connection_alive(base):
    local_ports = set()
    with requests.Session() as s:
        for _ in range(3):
            with s.get(f"{base}/hello", timeout=5, stream=True) as r:
                local_ports.add(r.raw.connection.sock.getsockname()[1])
                assert r.status_code == 200 and r.content == b"hello\n"
    assert len(local_ports) == 1, "each request used a new connection"


def test_chunked_upload_from_a_generator_is_echoed(base):
    pieces = [bytes([i]) * 10_000 for i in range(15)]  # 150 kB: spooled to a temp file
    r = requests.post(f"{base}/echo", data=iter(pieces), timeout=10)
    assert r.request.headers.get("Transfer-Encoding") == "chunked"
    assert r.status_code == 200
    assert r.headers["X-Body-Kind"] == "file"
    assert r.content == b"".join(pieces)


def test_small_body_stays_in_memory(base):
    r = requests.post(f"{base}/echo", data=b"abc", timeout=5)
    assert (r.status_code, r.headers["X-Body-Kind"], r.content) == (200, "memory", b"abc")


def test_too_large_body_is_413_problem_json(base):
    r = requests.post(f"{base}/echo", data=b"x" * (MAX_BODY + 1), timeout=10)
    assert r.status_code == 413
    assert r.headers["Content-Type"] == "application/problem+json"
    problem = r.json()
    assert problem["status"] == 413 and "exceeds the limit" in problem["detail"]


def test_streamed_ndjson_arrives_line_by_line(base):
    with requests.get(f"{base}/stream?n=50", stream=True, timeout=5) as r:
        assert r.headers["Transfer-Encoding"] == "chunked"
        lines = [line for line in r.iter_lines() if line]
    assert lines == [f'{{"line":{i}}}'.encode() for i in range(50)]


def test_unknown_route_and_method(base):
    r = requests.get(f"{base}/nope", timeout=5)
    assert r.status_code == 404 and r.json()["title"] == "Not Found"
    r = requests.delete(f"{base}/echo", timeout=5)
    assert r.status_code == 405 and "DELETE" in r.json()["detail"]


def _seeds():
    corpus = os.path.join(ROOT, "Tests", "Fuzz", "corpus")
    return [open(os.path.join(corpus, f), "rb").read() for f in sorted(os.listdir(corpus))]


def test_malformed_requests_never_take_the_server_down(base):
    """Seed requests mutated at random (fixed seed): every answer is a well-formed HTTP/1.1
    status line or a plain close, and the server keeps serving afterwards."""
    import random
    import socket

    rng = random.Random(1)
    seeds = _seeds()
    port = int(base.rsplit(":", 1)[1])
    statuses = {}
    for _ in range(300):
        data = bytearray(rng.choice(seeds))
        for _ in range(rng.randint(1, 6)):
            op, i = rng.random(), rng.randrange(len(data) + 1)
            if op < 0.4 and data:
                data[min(i, len(data) - 1)] = rng.randrange(256)
            elif op < 0.7:
                data[i:i] = rng.choice([b"\r", b"\n", b"\r\n", b" ", b":", b"0", b"-", b"\x00", b"chunked",
                                        b"Content-Length: 9\r\n"])
            else:
                del data[i:i + rng.randint(1, 8)]
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(bytes(data))
            s.shutdown(socket.SHUT_WR)  # the server treats the half-close as the client leaving
            reply = b""
            try:
                while chunk := s.recv(65536):
                    reply += chunk
            except ConnectionResetError:
                pass
        if reply:
            assert re.match(rb"HTTP/1\.1 [1-5]\d\d ", reply), reply[:80]
            code = int(reply[9:12])
            statuses[code] = statuses.get(code, 0) + 1
    assert requests.get(f"{base}/hello", timeout=5).text == "hello\n"
    assert statuses.get(400, 0) > 50, statuses  # the mutations do reach the parser
    assert 500 not in statuses, statuses
