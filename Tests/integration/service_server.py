"""Starts `affectd serve` on 127.0.0.1 with an ephemeral port and a temporary config, for the
Service tests. Needs the release binary (`make build`, or AFFECTD_BIN) and `make setup`'s data."""
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time

import pytest
import requests

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.environ.get("AFFECTD_BIN", os.path.join(ROOT, ".build", "release", "affectd"))
MODEL = os.path.join(ROOT, "models", "default")
FEAT = os.path.join(ROOT, ".cache", "testdata", "feat")
EDGE = os.path.join(ROOT, ".cache", "testdata", "edge")
CLIP = os.path.join(FEAT, "WolfgangLanger_Pexels.mp4")


def need(path):
    if not os.path.exists(path):
        pytest.fail(f"{path} is missing: run `make setup`")
    return path


def write_config(settings):
    """A YAML config from {"section.key": value}."""
    sections = {}
    for key, value in settings.items():
        section, name = key.split(".", 1)
        sections.setdefault(section, {})[name] = value
    fd, path = tempfile.mkstemp(suffix=".yaml", prefix="affectd-test-")
    with os.fdopen(fd, "w") as f:
        for section, values in sections.items():
            f.write(f"{section}:\n")
            for k, v in values.items():
                f.write(f"  {k}: {json.dumps(v)}\n")
    return path


class Server:
    """A running `affectd serve`; `url`, `stderr_lines()`, `stop()` (SIGTERM, returns the exit code)."""

    def __init__(self, settings=None, env=None, args=(), binary=BIN, own_job_store=True):
        """`own_job_store=False` for a build older than the job store (benchmarks against a baseline)."""
        if not os.access(binary, os.X_OK):
            pytest.fail(f"affectd binary not found at {binary}: run `make build` or set AFFECTD_BIN")
        need(os.path.join(MODEL, "manifest.json"))
        base = {"server.port": 0, "model.dir": MODEL, "shutdown.propagation_window": 0, "log.level": "info"}
        base.update(settings or {})
        # A job store of its own unless the test shares one between servers.
        self.data_dir = None
        if "jobs.store" not in base and own_job_store:
            self.data_dir = tempfile.mkdtemp(prefix="affectd-data-")
            base["jobs.store"] = f"sqlite://{self.data_dir}/jobs.db"
        self.config = write_config(base)
        self.log = tempfile.NamedTemporaryFile(prefix="affectd-serve-", suffix=".log", delete=False)
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("AFFECTD_")}
        full_env.update(env or {})
        self.proc = subprocess.Popen([binary, "serve", "--config", self.config, *args], stdout=subprocess.DEVNULL,
                                     stderr=self.log, env=full_env, cwd=ROOT)
        deadline = time.monotonic() + 60
        self.url = None
        while time.monotonic() < deadline and self.proc.poll() is None:
            for line in self.stderr_lines():
                m = re.search(r'"msg":"listening".*"port":"(\d+)"', line)
                if m:
                    self.url = f"http://127.0.0.1:{m.group(1)}"
            if self.url:
                break
            time.sleep(0.05)
        if not self.url:
            tail = self.stderr_lines()[-20:]
            self.kill()
            pytest.fail("affectd serve did not start:\n" + "\n".join(tail))

    def stderr_lines(self):
        with open(self.log.name, encoding="utf-8", errors="replace") as f:
            return f.read().splitlines()

    def stop(self, timeout=60):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout)
        finally:
            self.kill()

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        for p in (self.config, self.log.name):
            if os.path.exists(p):
                os.unlink(p)
        if self.data_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)


def metric(url, name, labels=None):
    """Sum of the samples of `name` whose labels include `labels`, from /metrics."""
    text = requests.get(f"{url}/metrics", timeout=10).text
    total = 0.0
    for line in text.splitlines():
        if line.startswith("#") or not line.startswith(name):
            continue
        m = re.match(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)$", line)
        if not m or m.group(1) != name:
            continue
        got = dict(re.findall(r'(\w+)="([^"]*)"', m.group(2) or ""))
        if all(got.get(k) == v for k, v in (labels or {}).items()):
            total += float(m.group(3))
    return total
