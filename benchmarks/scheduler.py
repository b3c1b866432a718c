"""The frame scheduler against a baseline build, side by side in one run (issue 16). Both builds'
`affectd serve` run at once with default settings (one compute thread per core; an idle server
costs nothing), and every measurement alternates baseline and new, so load from other processes
hits both alike; the load average is printed with every figure.
- single: one `POST /v1/analyze?fps=24` of WolfgangLanger at a time (frames/s; median of repeats);
- saturated: 4 concurrent clients, 3 requests each (total frames/s);
- head-of-line: while two 590 s clips (the clip looped 30x with `ffmpeg -stream_loop 29 -c copy`)
  are analysed at 24 fps, 20 sequential one-image `/v1/frames` requests (latency of each; p99).
Usage: .venv/bin/python benchmarks/scheduler.py [--base REV|BINARY] [--new BINARY] [--rounds 2]
A revision is built in .build-compare/<rev> (git worktree), like scripts/compare-analyze.sh."""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time

import requests

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "Tests", "integration"))
from service_server import CLIP, FEAT, Server  # noqa: E402

IMAGE = os.path.join(FEAT, "single_face.jpg")


def binary(spec):
    """An affectd binary for `spec`: a file, or a git revision built under .build-compare/<rev>."""
    if os.path.isfile(spec) and os.access(spec, os.X_OK):
        return spec
    rev = subprocess.run(["git", "rev-parse", "--short", f"{spec}^{{commit}}"], cwd=ROOT, check=True,
                         capture_output=True, text=True).stdout.strip()
    tree = os.path.join(ROOT, ".build-compare", rev)
    path = os.path.join(tree, ".build", "release", "affectd")
    if not os.access(path, os.X_OK):
        subprocess.run(["rm", "-rf", tree], check=True)
        subprocess.run(["git", "worktree", "add", "--detach", "-f", tree, rev], cwd=ROOT, check=True)
        subprocess.run(["swift", "build", "-c", "release", "--product", "affectd"], cwd=tree, check=True)
    return path


def load():
    with open("/proc/loadavg") as f:
        return "load " + " ".join(f.read().split()[:3])


def analyze(url, body):
    r = requests.post(f"{url}/v1/analyze?fps=24", data=body, headers={"Content-Type": "video/mp4"}, timeout=600)
    r.raise_for_status()
    return r.json()["media"]["frames_analyzed"]


def cpu_seconds(pid):
    """User + system CPU of a process so far (all its threads)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def single(server, body):
    """frames/s of one request, and the server's CPU seconds per wall second during it (cores used)."""
    t0, c0 = time.monotonic(), cpu_seconds(server.proc.pid)
    frames = analyze(server.url, body)
    wall = time.monotonic() - t0
    return frames / wall, (cpu_seconds(server.proc.pid) - c0) / wall


def saturated(url, body, clients, each):
    frames = []

    def client():
        for _ in range(each):
            frames.append(analyze(url, body))

    t0 = time.monotonic()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(frames) / (time.monotonic() - t0), len(frames), sum(frames)


def head_of_line(url, long_clip, image, count):
    """Latencies of `count` sequential one-image /v1/frames requests while two long clips run; the
    long requests are then abandoned (curl killed: the server cancels them)."""
    longs = [subprocess.Popen(["curl", "-s", "-o", "/dev/null", "--data-binary", "@" + long_clip,
                               "-H", "Content-Type: video/mp4", f"{url}/v1/analyze?fps=24"]) for _ in range(2)]
    time.sleep(3)  # both uploads accepted and under way
    busy = all(p.poll() is None for p in longs)
    latencies = []
    for _ in range(count):
        t0 = time.monotonic()
        r = requests.post(f"{url}/v1/frames", files={"a": ("a.jpg", image, "image/jpeg")}, timeout=600)
        r.raise_for_status()
        latencies.append(time.monotonic() - t0)
    still_busy = all(p.poll() is None for p in longs)
    for p in longs:
        p.kill()
        p.wait()
    return latencies, busy and still_busy


def p99(values):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(0.99 * (len(ordered) - 1))))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", default="2dbe1da", help="baseline: git revision or affectd binary")
    ap.add_argument("--new", default=os.path.join(ROOT, ".build", "release", "affectd"))
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=5, help="single requests per side and round")
    ap.add_argument("--skip-hol", action="store_true")
    a = ap.parse_args()
    sides = {"base": binary(a.base), "new": binary(a.new)}
    body = open(CLIP, "rb").read()
    image = open(IMAGE, "rb").read()
    tmp = tempfile.mkdtemp(prefix="affectd-sched-")
    long_clip = os.path.join(tmp, "long.mp4")
    subprocess.run(["ffmpeg", "-v", "error", "-stream_loop", "29", "-i", CLIP, "-c", "copy", long_clip], check=True)
    print(f"base {sides['base']}\nnew  {sides['new']}\ncores {os.cpu_count()}; "
          f"clip {os.path.basename(CLIP)} at fps=24; long clip {os.path.getsize(long_clip) >> 20} MiB (30 loops)")
    results = {s: {"single": [], "saturated": [], "hol": []} for s in sides}
    servers = {}
    try:
        for side, path in sides.items():
            servers[side] = Server({"log.level": "notice", "queue.length": 16, "queue.high_water": 16}, binary=path,
                                  own_job_store=side == "new")
            analyze(servers[side].url, body)  # warm-up: first-touch of arenas and pools
        for rnd in range(a.rounds):
            for _ in range(a.repeats):
                for side in sides:
                    before = load()
                    rate, cores = single(servers[side], body)
                    results[side]["single"].append(rate)
                    print(f"round {rnd + 1} {side:4} single     {rate:7.1f} frames/s  {cores:4.2f} cores busy  "
                          f"({before})", flush=True)
            for side in sides:
                before, c0 = load(), cpu_seconds(servers[side].proc.pid)
                total, n, frames = saturated(servers[side].url, body, 4, 3)
                results[side]["saturated"].append(total)
                ms = (cpu_seconds(servers[side].proc.pid) - c0) * 1000 / frames
                print(f"round {rnd + 1} {side:4} saturated  {total:7.1f} frames/s  {ms:4.2f} CPU ms/frame  "
                      f"({n} requests by 4 clients; {before})", flush=True)
        for side in [] if a.skip_hol else sides:
            before = load()
            lat, busy = head_of_line(servers[side].url, long_clip, image, 20)
            results[side]["hol"].append(lat)
            print(f"{side:4} frames     p50 {statistics.median(lat):6.3f} s  p99 {p99(lat):6.3f} s  "
                  f"max {max(lat):6.3f} s  (20 one-image requests while 2 long clips run"
                  f"{'' if busy else '; a long clip ended before the last'}; {before})", flush=True)
    finally:
        for s in servers.values():
            s.stop(timeout=120)
        subprocess.run(["rm", "-rf", tmp])
    print("\nsummary (median of every measurement)   base        new     new/base")
    for key, label in (("single", "single request, frames/s"), ("saturated", "4 clients, frames/s")):
        b, n = statistics.median(results["base"][key]), statistics.median(results["new"][key])
        print(f"{label:34} {b:10.1f} {n:10.1f} {n / b:9.2f}x")
    if not a.skip_hol:
        b = p99([x for r in results["base"]["hol"] for x in r])
        n = p99([x for r in results["new"]["hol"] for x in r])
        print(f"{'/v1/frames p99 behind 2 long clips':34} {b:9.3f}s {n:9.3f}s")


if __name__ == "__main__":
    main()
