"""Async jobs through the store, side by side with the synchronous path in one run:
1. throughput: N clips submitted at once, clips/min until all finished, for /v1/analyze (no store,
   concurrency = workers), jobs on `memory`, on SQLite, on PostgreSQL with 1 replica (2 workers) and
   2 replicas (1 worker each, behind a round-robin proxy): the same 2 workers in every row;
2. store overhead per job: one worker, the reference clip (19.7 s, default fps) one at a time: the
   server's own store time per job (POST /v1/jobs until the 202: hash, durable upload, insert; the
   claim; the finish, from its logs), and the client's job turnaround (POST to finished, polled every
   10 ms) minus /v1/analyze latency; as a share of the clip's analysis time (target < 5%);
3. with --chaos N: N jobs over two PostgreSQL replicas, one killed with SIGKILL twice mid-run and
   restarted; prints lost, duplicated, failed and mismatched (vs `affectd analyze`) jobs and attempts.
PostgreSQL is started from Debian's packages in a temporary directory (Tests/integration/pg_server.py).
Usage: .venv/bin/python benchmarks/jobs.py [--clips 8] [--repeats 3] [--chaos 0]"""
import argparse
import json
import os
import shutil
import signal
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

import requests

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "Tests", "integration"))
from jobs_support import MP4, cli_result, submit, wait_finished, wait_for  # noqa: E402
from pg_server import Postgres, RoundRobinProxy  # noqa: E402
from service_server import CLIP, Server  # noqa: E402

BASE = {"log.level": "info", "jobs.poll_interval": 0.05, "jobs.max_records": 10000}


def address(server):
    host, port = server.url.rsplit("/", 1)[-1].rsplit(":", 1)
    return host, int(port)


def poll_finished(url, job_id):
    while True:
        r = requests.get(f"{url}/v1/jobs/{job_id}", timeout=10)
        if r.json()["status"] in ("succeeded", "failed", "cancelled"):
            return r.json()
        time.sleep(0.01)


def throughput_sync(clips, workers):
    s = Server({**BASE, "workers.count": workers, "jobs.store": "memory"})
    try:
        body = open(CLIP, "rb").read()

        def one(_):
            r = requests.post(f"{s.url}/v1/analyze?fps=2", data=body, headers=MP4, timeout=600)
            assert r.status_code == 200, r.text

        t0 = time.monotonic()
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(one, range(clips)))
        return clips / (time.monotonic() - t0) * 60
    finally:
        s.stop()


def throughput_jobs(clips, servers, url):
    t0 = time.monotonic()
    ids = [submit(url, CLIP, "?fps=2") for _ in range(clips)]
    jobs = [wait_finished(servers[0].url, j, timeout=1800) for j in ids]
    assert all(j["status"] == "succeeded" for j in jobs), [j["status"] for j in jobs]
    return clips / (time.monotonic() - t0) * 60


def turnaround(url, repeats):
    """Seconds per clip: /v1/analyze latency, and a job's POST-to-finished time."""
    body = open(CLIP, "rb").read()
    sync, job = [], []
    for _ in range(repeats):
        t0 = time.monotonic()
        assert requests.post(f"{url}/v1/analyze", data=body, headers=MP4, timeout=600).status_code == 200
        sync.append(time.monotonic() - t0)
        t0 = time.monotonic()
        r = requests.post(f"{url}/v1/jobs", data=body, headers=MP4, timeout=600)
        assert poll_finished(url, r.json()["id"])["status"] == "succeeded"
        job.append(time.monotonic() - t0)
    return statistics.median(sync), statistics.median(job)


def server_store_ms(server):
    """Median ms per job the server spent on the store: the POST's duration, the claim, the finish."""
    lines = [json.loads(line) for line in server.stderr_lines() if line.startswith("{")]
    posts = [float(d["duration_ms"]) for d in lines if d.get("route") == "/v1/jobs" and d.get("method") == "POST"]
    finished = [d for d in lines if d.get("msg") == "job finished"]
    return (statistics.median(posts), statistics.median(float(d["claim_ms"]) for d in finished),
            statistics.median(float(d["finish_ms"]) for d in finished))


def chaos(pg, n):
    def replica():
        # One request slot per replica: a replica runs one job at a time, so "both busy" is two leases.
        return Server({**BASE, "jobs.store": pg.url, "workers.count": 1, "workers.active_requests": 1, "jobs.lease": 3})

    a, b = replica(), replica()
    proxy = RoundRobinProxy([address(a), address(b)])
    try:
        ids = [submit(proxy.url, CLIP, "?fps=2") for _ in range(n)]
        for kill in range(2):
            wait_for(lambda: pg.psql("SELECT count(*) FROM jobs WHERE status = 'running' "
                                     "AND lease_until > extract(epoch from now())") == "2", timeout=300,
                     what=f"kill {kill}: both replicas busy")
            os.kill(a.proc.pid, signal.SIGKILL)
            a.proc.wait()
            a.kill()
            a = replica()
            proxy.backends = [address(a), address(b)]
        jobs = [wait_finished(b.url, j, timeout=3600) for j in ids]
        expected = cli_result(CLIP, 2)
        rows = int(pg.psql(f"SELECT count(*) FROM jobs WHERE id IN ({','.join(repr(j) for j in ids)})"))
        print(f"chaos: {n} jobs accepted, {n - rows} lost, {rows - n} duplicated rows, "
              f"{sum(j['status'] != 'succeeded' for j in jobs)} not succeeded, "
              f"{sum(j.get('result') != expected for j in jobs)} results differing from `affectd analyze`, "
              f"attempts {sum(j['attempts'] for j in jobs)} (2 kills)")
    finally:
        proxy.close()
        a.stop()
        b.stop()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--clips", type=int, default=8)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--chaos", type=int, default=0)
    args = ap.parse_args()
    pg = Postgres()
    data = tempfile.mkdtemp(prefix="affectd-bench-jobs-")
    try:
        print(f"{args.clips} clips of {os.path.basename(CLIP)} at fps=2, 2 workers in total per row")
        print(f"  /v1/analyze (no store)          {throughput_sync(args.clips, 2):6.1f} clips/min")
        for name, store in (("memory", "memory"), ("sqlite", f"sqlite://{data}/jobs.db"), ("postgres", pg.url)):
            s = Server({**BASE, "workers.count": 2, "jobs.store": store})
            try:
                print(f"  jobs, {name:8} 1 replica         {throughput_jobs(args.clips, [s], s.url):6.1f} clips/min")
            finally:
                s.stop()
        a, b = (Server({**BASE, "workers.count": 1, "jobs.store": pg.url}) for _ in range(2))
        proxy = RoundRobinProxy([address(a), address(b)])
        try:
            print(f"  jobs, postgres 2 replicas        {throughput_jobs(args.clips, [a, b], proxy.url):6.1f} clips/min")
        finally:
            proxy.close()
            a.stop()
            b.stop()

        print(f"store overhead per job: 1 worker, {os.path.basename(CLIP)} at the default fps, median of "
              f"{args.repeats}")
        for name, store in (("memory", "memory"), ("sqlite", f"sqlite://{data}/overhead.db"), ("postgres", pg.url)):
            s = Server({**BASE, "workers.count": 1, "jobs.store": store})
            try:
                sync, job = turnaround(s.url, args.repeats)
                post, claim, finish = server_store_ms(s)
                store = post + claim + finish
                print(f"  {name:8} analyze {sync:6.3f} s | server: POST {post:5.1f} + claim {claim:5.1f} + finish "
                      f"{finish:5.1f} = {store:5.1f} ms = {store / 10 / sync:4.2f}% | client turnaround {job:6.3f} s, "
                      f"{(job - sync) * 1000:6.1f} ms = {(job - sync) / sync * 100:5.2f}% over analyze")
            finally:
                s.stop()
        if args.chaos:
            chaos(pg, args.chaos)
    finally:
        pg.stop()
        shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    main()
