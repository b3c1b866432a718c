"""A real PostgreSQL server from Debian's packages (`postgresql`) in a temporary directory, run as a
non-root user (`nobody` when the tests run as root), on 127.0.0.1 with an ephemeral port; and a
round-robin TCP proxy on 127.0.0.1 standing for a Kubernetes Service in front of replicas."""
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import threading

import pytest


def _bin(name):
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not found:
        pytest.fail(f"PostgreSQL's {name} is missing: run scripts/setup-system.sh (Debian package postgresql)")
    return found[-1]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Postgres:
    """initdb + pg_ctl start; `url` for jobs.store; `stop()` stops the server and removes its files."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="affectd-pg-")
        self.data = os.path.join(self.dir, "data")
        self.port = free_port()
        self.prefix = []
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root
            user = pwd.getpwnam("nobody")
            os.chown(self.dir, user.pw_uid, user.pw_gid)
            self.prefix = ["runuser", "-u", "nobody", "--"]
        self._run([_bin("initdb"), "-D", self.data, "-A", "trust", "-U", "affectd", "--no-sync", "-E", "UTF8"])
        self._run([_bin("pg_ctl"), "-D", self.data, "-l", os.path.join(self.dir, "log"), "-w", "-t", "60", "start",
                   "-o", f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.dir} -c fsync=off "
                         "-c max_connections=50"])
        self.url = f"postgres://affectd@127.0.0.1:{self.port}/postgres"

    def _run(self, args):
        out = subprocess.run(self.prefix + args, capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, f"{args[0]} failed:\n{out.stdout}\n{out.stderr}"

    def psql(self, sql, database="postgres"):
        out = subprocess.run(self.prefix + [_bin("psql"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "affectd",
                                            "-d", database, "-tAc", sql], capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        return out.stdout.strip()

    def database(self, name):
        """A new, empty database on this server (a store no other replica of the test run uses): its URL."""
        self.psql(f"CREATE DATABASE {name}")
        return f"postgres://affectd@127.0.0.1:{self.port}/{name}"

    def stop(self):
        try:
            self._run([_bin("pg_ctl"), "-D", self.data, "-m", "fast", "-w", "stop"])
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)


class RoundRobinProxy:
    """Each accepted connection goes to the next backend in turn, as a Service's kube-proxy spreads them."""

    def __init__(self, backends):
        self.backends = list(backends)
        self.turn = 0
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.running = True
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while self.running:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            host, port = self.backends[self.turn % len(self.backends)]
            self.turn += 1
            try:
                upstream = socket.create_connection((host, port), timeout=5)
            except OSError:
                client.close()
                continue
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src, dst):
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self):
        self.running = False
        self.listener.close()

