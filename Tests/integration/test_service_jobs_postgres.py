"""Two `affectd serve` replicas on one PostgreSQL store (a real server from Debian's packages, started
here as a non-root user) behind a round-robin proxy on 127.0.0.1: every poll answers, DELETE through
either replica cancels, and a replica killed with SIGKILL twice mid-run loses no job and duplicates
none. `benchmarks/jobs.py` runs the same at a larger scale."""
import os
import pathlib
import signal

import pytest
import requests
import yaml

from jobs_support import cli_result, submit, wait_finished, wait_for
from pg_server import Postgres, RoundRobinProxy
from service_server import CLIP, FEAT, Server, need

SHORT = os.path.join(FEAT, "single_face.mp4")
KEDA = pathlib.Path(__file__).resolve().parents[2] / "deploy" / "postgres" / "keda.yaml"


def keda_query():
    scaled = next(d for d in yaml.safe_load_all(KEDA.read_text()) if d["kind"] == "ScaledObject")
    return next(t for t in scaled["spec"]["triggers"] if t["type"] == "postgresql")["metadata"]["query"]


@pytest.fixture(scope="module")
def pg():
    server = Postgres()
    yield server
    server.stop()


def replica(url):
    # A lease of 3 s: renewed every second, so a loaded CI machine does not let a live replica's lease lapse.
    # One request slot: each replica runs one job at a time, as the tests count them.
    return Server({"jobs.store": url, "workers.count": 1, "workers.active_requests": 1, "jobs.lease": 3,
                   "jobs.poll_interval": 0.1})


def address(server):
    host, port = server.url.rsplit("/", 1)[-1].rsplit(":", 1)
    return host, int(port)


@pytest.fixture(scope="module")
def pair(pg):
    a, b = replica(pg.url), replica(pg.url)
    proxy = RoundRobinProxy([address(a), address(b)])
    yield a, b, proxy
    proxy.close()
    assert a.stop() == 0 and b.stop() == 0


def test_every_poll_through_either_replica_answers(pg, pair):
    need(CLIP)
    a, b, proxy = pair
    ids = [submit(proxy.url, SHORT, "?fps=5") for _ in range(4)]
    # The autoscaler's query (deploy/postgres/keda.yaml) counts them on the real schema: 2 workers, 4 jobs.
    assert 2 <= int(pg.psql(keda_query())) <= 4
    statuses = [requests.get(f"{proxy.url}/v1/jobs/{ids[i % 4]}", timeout=5).status_code for i in range(100)]
    assert statuses == [200] * 100
    finished = {j: wait_finished(proxy.url, j) for j in ids}
    assert all(job["status"] == "succeeded" and job["result"] == cli_result(SHORT, 5) for job in finished.values())
    bodies = [requests.get(f"{proxy.url}/v1/jobs/{ids[0]}", timeout=5) for _ in range(100)]
    assert [r.status_code for r in bodies] == [200] * 100
    assert len({r.content for r in bodies}) == 1
    # Both replicas see the same records.
    assert requests.get(f"{a.url}/v1/jobs/{ids[1]}", timeout=5).json() == \
        requests.get(f"{b.url}/v1/jobs/{ids[1]}", timeout=5).json()
    assert pg.psql(keda_query()) == "0"


def test_delete_through_either_replica_cancels(pg, pair):
    a, b, proxy = pair
    for _ in range(2):  # the proxy alternates: the two DELETEs go through different replicas
        job = submit(proxy.url, CLIP, "?fps=30&include=expressions")
        wait_for(lambda: requests.get(f"{proxy.url}/v1/jobs/{job}", timeout=5).json()["status"] == "running",
                 what="the job running")
        d = requests.delete(f"{proxy.url}/v1/jobs/{job}", timeout=5)
        assert d.status_code == 200 and d.json()["status"] == "cancelled"
        for server in (a, b):
            record = requests.get(f"{server.url}/v1/jobs/{job}", timeout=5).json()
            assert record["status"] == "cancelled" and "result" not in record
    # The replica that ran each job stopped it: both workers are free for new jobs at once.
    quick = [submit(proxy.url, SHORT, "?fps=1") for _ in range(2)]
    assert all(wait_finished(proxy.url, j, timeout=30)["status"] == "succeeded" for j in quick)
    # No upload of a cancelled or finished job is left in the database.
    assert pg.psql("SELECT count(*) FROM job_uploads") == "0"


def test_kill_9_twice_mid_run_loses_and_duplicates_nothing(pg):
    need(CLIP)
    url = pg.database("chaos")  # its own store: the other tests' replicas must not take its jobs
    a, b = replica(url), replica(url)
    proxy = RoundRobinProxy([address(a), address(b)])
    try:
        ids = []

        def both_running():  # two live leases: each replica holds a job (not a dead replica's expired lease)
            return pg.psql("SELECT count(*) FROM jobs WHERE status = 'running' "
                           "AND lease_until > extract(epoch from now())", "chaos") == "2"

        for kill in range(2):
            # A batch per kill, through the proxy, so the restarted replica finds work queued again.
            ids += [submit(proxy.url, CLIP, "?fps=2") for _ in range(4)]
            wait_for(both_running, timeout=60, what=f"kill {kill}: both replicas running a job")
            os.kill(a.proc.pid, signal.SIGKILL)
            a.proc.wait()
            a.kill()
            a = replica(url)
            proxy.backends = [address(a), address(b)]
        jobs = {j: wait_finished(b.url, j, timeout=240) for j in ids}
        assert all(job["status"] == "succeeded" for job in jobs.values()), jobs
        assert all(job["result"] == cli_result(CLIP, 2) for job in jobs.values())
        assert all(job["attempts"] >= 1 for job in jobs.values())
        assert sum(job["attempts"] for job in jobs.values()) == len(ids) + 2, [j["attempts"] for j in jobs.values()]
        # One row per accepted job, no upload left behind.
        assert int(pg.psql("SELECT count(*) FROM jobs", "chaos")) == len(ids)
        assert int(pg.psql("SELECT count(*) FROM job_uploads", "chaos")) == 0
    finally:
        proxy.close()
        assert a.stop() == 0 and b.stop() == 0
