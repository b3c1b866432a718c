"""openapi.yaml: a valid OpenAPI 3.1 document (openapi-spec-validator) that lists every route the
server has, and a bounded schemathesis run against a live `affectd serve` on 127.0.0.1 (checks:
no 5xx, documented status codes, content types, headers and response schemas)."""
import os
import re
import subprocess
import sys

import requests
import yaml
from openapi_spec_validator import validate

from service_server import ROOT, Server

SPEC = os.path.join(ROOT, "openapi.yaml")


def test_openapi_document_is_valid_3_1():
    with open(SPEC) as f:
        doc = yaml.safe_load(f)
    validate(doc)
    assert doc["openapi"].startswith("3.1")
    assert set(doc["paths"]) == {"/healthz", "/readyz", "/v2/health/live", "/v2/health/ready", "/metrics", "/v1/models",
                                 "/v1/analyze", "/v1/frames", "/v1/label", "/v1/jobs", "/v1/jobs/{id}",
                                 "/", "/v1/stream"}


def test_every_documented_operation_is_served():
    s = Server({"workers.count": 1})
    try:
        with open(SPEC) as f:
            doc = yaml.safe_load(f)
        for path, item in doc["paths"].items():
            for method in ("get", "post", "delete"):
                if method in item:
                    url = s.url + path.replace("{id}", "0" * 24)
                    r = requests.request(method.upper(), url, timeout=10)
                    assert r.status_code not in (405, 500), f"{method.upper()} {path}: {r.status_code}"
                    if path != "/v1/jobs/{id}":
                        assert r.status_code != 404, f"{method.upper()} {path} is documented but not routed"
    finally:
        assert s.stop() == 0


def test_schemathesis_finds_no_failure():
    s = Server({"workers.count": 2, "queue.length": 64, "queue.high_water": 64,
                "limits.max_body_bytes": 4 * 1024 * 1024})
    try:
        cmd = [os.path.join(os.path.dirname(sys.executable), "schemathesis"), "run", SPEC, "--url", s.url,
               "--max-examples", "8", "--seed", "7", "--phases", "examples,coverage,fuzzing",
               "--checks", "not_a_server_error,status_code_conformance,content_type_conformance,"
                           "response_schema_conformance,response_headers_conformance",
               "--request-timeout", "60", "--max-failures", "20", "--no-color"]
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=240, cwd=ROOT)
        tail = out.stdout[-6000:] + out.stderr[-2000:]
        assert out.returncode == 0, tail
        assert re.search(r"Tested: 15\b", out.stdout), tail
    finally:
        assert s.stop() == 0
