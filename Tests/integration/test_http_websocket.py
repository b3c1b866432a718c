"""WebSocket on the HTTP server, through the `websockets` client and raw sockets.

Runs against the `GET /ws` echo route of `affectd-bench http-echo` (the fixture of test_http_echo.py) on
127.0.0.1. The raw-socket cases follow Autobahn's: each protocol violation must end in a close
frame with its code and a closed connection. Needs the release binary (`make build`).
"""
import asyncio
import base64
import hashlib
import os
import socket
import struct
import time

import requests
import websockets


GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def ws_url(base):
    return base.replace("http://", "ws://") + "/ws"


def test_echo_fragments_ping_subprotocol_and_close(base):
    async def session():
        async with websockets.connect(ws_url(base), subprotocols=["bearer.t0ken", "chat"], max_size=None) as ws:
            assert ws.subprotocol == "bearer.t0ken"  # http-echo agrees to the first offered
            await ws.send("héllo ✓ 𝄞")
            assert await ws.recv() == "héllo ✓ 𝄞"
            for n in (125, 126, 65_536, 300_000):  # 7-, 16- and 64-bit lengths
                payload = os.urandom(n)
                await ws.send(payload)
                assert await ws.recv() == payload
            await ws.send(["frag", "mented ", "é"])  # one message in three fragments
            assert await ws.recv() == "fragmented é"
            latency = await asyncio.wait_for(await ws.ping(b"p"), 5)
            assert latency >= 0
            await ws.close(code=1000, reason="done")
        return ws.close_code, ws.close_reason

    assert asyncio.run(asyncio.wait_for(session(), 30)) == (1000, "")


def test_handshake_refusals_are_problem_json(base):
    url = base + "/ws"
    r = requests.get(url, timeout=5)
    assert (r.status_code, r.headers["Upgrade"]) == (426, "websocket")
    upgrade = {"Upgrade": "websocket", "Connection": "Upgrade",
               "Sec-WebSocket-Key": base64.b64encode(b"k" * 16).decode()}
    r = requests.get(url, headers={**upgrade, "Sec-WebSocket-Version": "8"}, timeout=5)
    assert (r.status_code, r.headers["Sec-WebSocket-Version"]) == (426, "13")
    r = requests.get(url, headers={**upgrade, "Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": "short"}, timeout=5)
    assert r.status_code == 400 and r.headers["Content-Type"] == "application/problem+json"
    assert "Sec-WebSocket-Key" in r.json()["detail"]


def raw_upgrade(base):
    """A raw socket past a checked handshake (the accept value computed here, independently)."""
    host, port = base.removeprefix("http://").split(":")
    s = socket.create_connection((host, int(port)), timeout=5)
    key = base64.b64encode(os.urandom(16))
    s.sendall(b"GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
              b"Sec-WebSocket-Key: " + key + b"\r\nSec-WebSocket-Version: 13\r\n\r\n")
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = s.recv(4096)
        assert chunk, "closed during the handshake"
        head += chunk
    assert head.startswith(b"HTTP/1.1 101 ")
    accept = base64.b64encode(hashlib.sha1(key + GUID).digest())
    assert b"Sec-WebSocket-Accept: " + accept + b"\r\n" in head
    assert head.endswith(b"\r\n\r\n"), "the server spoke before the client did"
    return s


def frame(opcode, payload=b"", fin=True, rsv=0, masked=True, length=None):
    n = len(payload) if length is None else length
    out = bytes([(0x80 if fin else 0) | rsv << 4 | opcode])
    bit = 0x80 if masked else 0
    if n < 126:
        out += bytes([bit | n])
    elif n <= 0xFFFF:
        out += bytes([bit | 126]) + struct.pack(">H", n)
    else:
        out += bytes([bit | 127]) + struct.pack(">Q", n)
    if not masked:
        return out + payload
    key = os.urandom(4)
    return out + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))


def read_close(s):
    """The code of the server's close frame (skipping other frames), then EOF."""
    buf = b""

    def need(n):
        nonlocal buf
        while len(buf) < n:
            chunk = s.recv(65536)
            assert chunk, "connection closed without a close frame"
            buf += chunk

    while True:
        need(2)
        assert buf[1] & 0x80 == 0, "the server masked a frame"
        n, h = buf[1] & 0x7F, 2
        if n == 126:
            need(4)
            n, h = struct.unpack(">H", buf[2:4])[0], 4
        elif n == 127:
            need(10)
            n, h = struct.unpack(">Q", buf[2:10])[0], 10
        need(h + n)
        opcode, payload, buf = buf[0] & 0x0F, buf[h:h + n], buf[h + n:]
        if opcode == 8:
            code = struct.unpack(">H", payload[:2])[0]
            s.settimeout(5)
            while s.recv(65536):
                pass
            return code


AUTOBAHN_CASES = {
    "unmasked frame": (frame(1, b"hi", masked=False), 1002),
    "RSV1 set": (frame(1, b"hi", rsv=4), 1002),
    "reserved opcode 5": (frame(5, b""), 1002),
    "reserved control opcode 0xF": (frame(0xF, b""), 1002),
    "fragmented ping": (frame(9, b"", fin=False), 1002),
    "ping over 125 bytes": (frame(9, b"x" * 126), 1002),
    "continuation first": (frame(0, b"x"), 1002),
    "close with 1 byte": (frame(8, b"\x03"), 1002),
    "close code 1004": (frame(8, struct.pack(">H", 1004)), 1002),
    "invalid UTF-8": (frame(1, b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80edited"), 1007),
    "invalid UTF-8 across fragments": (frame(1, b"\xce", fin=False) + frame(0, b"\x41"), 1007),
    "frame over the 4 MiB default": (frame(2, b"", length=4 * 1024 * 1024 + 1), 1009),
}


def test_autobahn_style_violations_get_their_close_code(base):
    for name, (data, code) in AUTOBAHN_CASES.items():
        s = raw_upgrade(base)
        try:
            s.sendall(data)
            assert read_close(s) == code, name
        finally:
            s.close()
    assert requests.get(base + "/hello", timeout=5).content == b"hello\n"


def p99(seconds):
    return sorted(seconds)[int(len(seconds) * 0.99) - 1]


def hello_latencies(base, n=300):
    with requests.Session() as s:
        out = []
        for _ in range(n):
            t = time.perf_counter()
            assert s.get(base + "/hello", timeout=5).status_code == 200
            out.append(time.perf_counter() - t)
        return out


def test_200_idle_websockets_leave_plain_http_fast(base):
    """200 open, idle WebSockets cost the event loop nothing measurable: /hello's p99 latency
    with them open stays within a small factor of its p99 without them."""
    alone = p99(hello_latencies(base))

    async def held():
        conns = await asyncio.gather(*(websockets.connect(ws_url(base), open_timeout=10) for _ in range(200)))
        try:
            latencies = await asyncio.to_thread(hello_latencies, base)
            # Every connection is still open and served.
            await asyncio.gather(*(c.send(str(i)) for i, c in enumerate(conns)))
            assert await asyncio.gather(*(c.recv() for c in conns)) == [str(i) for i in range(200)]
            return latencies
        finally:
            await asyncio.gather(*(c.close() for c in conns))

    with_sockets = p99(asyncio.run(asyncio.wait_for(held(), 60)))
    print(f"/hello p99: {alone * 1e3:.2f} ms alone, {with_sockets * 1e3:.2f} ms with 200 idle WebSockets")
    assert with_sockets < max(3 * alone, alone + 0.020), (alone, with_sockets)
