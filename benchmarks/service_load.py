"""Service under load: `wrk -c 64 -d 30s` on /healthz while analyses of the reference clip run
concurrently, then SIGTERM. Prints requests/s and latency, what /metrics counted against what
wrk sent, every analyze outcome (none lost or truncated), and the exit code.
With --rss-minutes N (default 0): keeps a mixed load for N minutes instead and prints the RSS
after the first minute and at the end (the leak check: within 10%).
Usage: .venv/bin/python benchmarks/service_load.py [--seconds 30] [--rss-minutes 10]"""
import argparse
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time

import requests

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "Tests", "integration"))
from service_server import CLIP, Server, metric  # noqa: E402


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        return int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))


def analyze_loop(url, stop, outcomes, lock):
    body = open(CLIP, "rb").read()
    while not stop.is_set():
        try:
            r = requests.post(f"{url}/v1/analyze?fps=2", data=body, headers={"Content-Type": "video/mp4"}, timeout=300)
            if r.status_code == 200:
                ok = r.json()["media"]["frames_analyzed"] > 0  # parses: not truncated
                key = "200 complete" if ok else "200 EMPTY"
            else:
                key = f"{r.status_code} retry-after={r.headers.get('Retry-After')}"
        except Exception as e:  # a lost request shows up here
            key = f"error {type(e).__name__}"
        with lock:
            outcomes[key] = outcomes.get(key, 0) + 1
        if key.startswith(("503", "429")):
            time.sleep(0.5)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=30)
    ap.add_argument("--rss-minutes", type=float, default=0)
    ap.add_argument("--analyzers", type=int, default=3)
    a = ap.parse_args()
    s = Server({"queue.length": 4, "queue.high_water": 4, "shutdown.propagation_window": 1, "log.level": "notice"})
    stop, lock, outcomes = threading.Event(), threading.Lock(), {}
    loops = [threading.Thread(target=analyze_loop, args=(s.url, stop, outcomes, lock)) for _ in range(a.analyzers)]
    for t in loops:
        t.start()
    print(f"server {s.url}, {a.analyzers} concurrent analyze loops (fps=2, {os.path.basename(CLIP)})")
    before = metric(s.url, "affectd_requests_total", {"route": "/healthz"})
    if a.rss_minutes:
        rss = []
        end = time.monotonic() + a.rss_minutes * 60
        while time.monotonic() < end:
            subprocess.run(["wrk", "-c", "16", "-t", "2", "-d", "10s", f"{s.url}/healthz"], capture_output=True)
            rss.append((time.monotonic(), rss_kib(s.proc.pid)))
        t0 = rss[0][0]
        first = next((v for t, v in rss if t - t0 >= 50), rss[0][1])
        last = rss[-1][1]
        print(f"RSS after ~1 min: {first} KiB; after {a.rss_minutes:g} min: {last} KiB; ratio {last / first:.3f}")
    else:
        out = subprocess.run(["wrk", "-c", "64", "-t", "2", "-d", f"{a.seconds}s", "--latency", f"{s.url}/healthz"],
                             capture_output=True, text=True).stdout
        sent = int(re.search(r"(\d+) requests in", out).group(1))
        rps = re.search(r"Requests/sec:\s+(\S+)", out).group(1)
        p50 = re.search(r"50%\s+(\S+)", out).group(1)
        p99 = re.search(r"99%\s+(\S+)", out).group(1)
        errors = re.search(r"Socket errors: .*|Non-2xx.*", out)
        time.sleep(0.5)
        counted = metric(s.url, "affectd_requests_total", {"route": "/healthz"}) - before
        print(f"/healthz under wrk -c 64 -d {a.seconds}s: {rps} req/s, p50 {p50}, p99 {p99}"
              + (f", {errors.group(0)}" if errors else ""))
        print(f"requests wrk completed: {sent}; /metrics counted: {int(counted)} "
              "(wrk's count excludes requests cut at its end)")
    # SIGTERM while the analyses still run: each must complete or get an explicit error.
    stop.set()
    s.proc.send_signal(signal.SIGTERM)
    for t in loops:
        t.join()
    code = s.stop(timeout=120)
    print("analyze outcomes:", json.dumps(outcomes, sort_keys=True))
    print(f"exit code after SIGTERM under load: {code}")
    accepted_ok = all(k == "200 complete" or k.startswith(("503", "429")) for k in outcomes)
    return 0 if code == 0 and accepted_ok else 1

if __name__ == "__main__":
    sys.exit(main())
