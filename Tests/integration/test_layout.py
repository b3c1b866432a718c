"""The module layout as Package.swift declares it, checked against the sources and the docs.

- every `import` of a project module (or a package product) in Sources/<target> is a declared
  dependency of that target, and every declared dependency is imported somewhere in it;
- docs/design.md's module table lists exactly Package.swift's edges;
- the shipped `affectd --help` lists only user commands (developer tools live in affectd-bench).

Needs the toolchain (`swift package dump-package`) and the release binaries (`make build`).
"""
import json
import os
import re
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.environ.get("AFFECTD_BIN", os.path.join(ROOT, ".build", "release", "affectd"))
BENCH_BIN = os.environ.get("AFFECTD_BENCH_BIN", os.path.join(ROOT, ".build", "release", "affectd-bench"))
PRODUCT_MODULES = {"ArgumentParser", "Logging", "Metrics", "CoreMetrics", "Prometheus", "Yams"}
USER_COMMANDS = {"serve", "health", "probe", "frames", "model", "detect", "analyze", "label"}
DEVELOPER_COMMANDS = {"bench-op", "bench-net", "bench-vad", "bench-soundscape", "decode-bench", "http-echo"}


def manifest():
    out = subprocess.run(["swift", "package", "dump-package"], cwd=ROOT, capture_output=True, text=True,
                         timeout=300, check=True)
    return json.loads(out.stdout)


def declared(target):
    deps = set()
    for d in target["dependencies"]:
        kind, value = next(iter(d.items()))
        deps.add(value[0])
    return deps


def target_dir(target):
    return os.path.join(ROOT, target.get("path") or os.path.join("Tests" if target["type"] == "test" else "Sources",
                                                                  target["name"]))


def imports(directory):
    found = set()
    for base, _, files in os.walk(directory):
        for f in files:
            if f.endswith(".swift"):
                with open(os.path.join(base, f), encoding="utf-8") as fh:
                    found |= set(re.findall(r"^(?:@testable )?import (\w+)", fh.read(), re.M))
    return found


def test_every_import_is_declared_and_every_dependency_used():
    targets = manifest()["targets"]
    project = {t["name"].replace("-", "_") for t in targets} | PRODUCT_MODULES
    problems = []
    for t in targets:
        if t["type"] == "system":
            continue
        deps = {d.replace("-", "_") for d in declared(t)}
        used = imports(target_dir(t)) & project
        used.discard(t["name"].replace("-", "_"))
        if used - deps:
            problems.append(f"{t['name']} imports undeclared {sorted(used - deps)}")
        if deps - used:
            problems.append(f"{t['name']} declares unused {sorted(deps - used)}")
    assert not problems, "\n".join(problems)


def test_design_module_table_matches_package_swift():
    with open(os.path.join(ROOT, "docs", "design.md"), encoding="utf-8") as fh:
        rows = re.findall(r"^\| `([\w-]+)` \| ([^|]+) \|$", fh.read(), re.M)
    documented = {name: set() if deps.strip() == "(none)" else {d.strip() for d in deps.split(",")}
                  for name, deps in rows}
    actual = {t["name"]: declared(t) - PRODUCT_MODULES for t in manifest()["targets"]
              if t["type"] in ("regular", "executable") and t["name"] != "TestSupport"}
    assert documented == actual


def test_shipped_help_lists_only_user_commands():
    out = subprocess.run([BIN, "--help"], capture_output=True, text=True, timeout=30, check=True).stdout
    listed = set(re.findall(r"^  ([a-z][a-z-]+)\s", out.split("SUBCOMMANDS:")[1], re.M))
    assert listed == USER_COMMANDS, out
    bench = subprocess.run([BENCH_BIN, "--help"], capture_output=True, text=True, timeout=30, check=True).stdout
    assert set(re.findall(r"^  ([a-z][a-z-]+)\s", bench.split("SUBCOMMANDS:")[1], re.M)) == DEVELOPER_COMMANDS, bench


def test_service_builds_no_json_by_hand():
    """Service writes bodies through Encodable types: no string literal spells out a JSON key or object."""
    hand_built = re.compile(r'\\"\w+\\"\s*:|"\{\\"|"\[\{')
    found = []
    service = os.path.join(ROOT, "Sources", "Service")
    for name in sorted(os.listdir(service)):
        with open(os.path.join(service, name), encoding="utf-8") as fh:
            found += [f"{name}:{i}: {line.strip()}" for i, line in enumerate(fh, 1) if hand_built.search(line)]
    assert not found, "\n".join(found)
