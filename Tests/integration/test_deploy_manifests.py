"""deploy/*.yaml: valid Kubernetes objects (strict JSON schemas of several Kubernetes versions, offline, from
the kubernetes-validate package) whose values agree with each other and with the Dockerfile."""
import copy
import pathlib
import re

import kubernetes_validate
import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
# The oldest Kubernetes release still commonly run and the newest the package knows.
VERSIONS = ["1.29.0", kubernetes_validate.latest_version()]


def load_objects():
    files = sorted(DEPLOY.glob("*.yaml"))
    assert files, f"no manifests in {DEPLOY}"
    objects = []
    for f in files:
        for doc in yaml.safe_load_all(f.read_text()):
            if doc is not None:
                objects.append((f.name, doc))
    return objects


OBJECTS = load_objects()


def one(kind):
    found = [doc for _, doc in OBJECTS if doc["kind"] == kind]
    assert len(found) == 1, f"expected one {kind} in deploy/, found {len(found)}"
    return found[0]


def dockerfile_runtime_stage():
    text = (ROOT / "Dockerfile").read_text()
    return text[text.rindex("\nFROM "):]  # the last stage is the image that runs


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("name,doc", OBJECTS, ids=[f"{n}:{d['kind']}" for n, d in OBJECTS])
def test_schema_strict(name, doc, version):
    kubernetes_validate.validate(doc, version, strict=True)


def test_validator_rejects_a_broken_manifest():
    bad = copy.deepcopy(one("Deployment"))
    bad["spec"]["template"]["spec"]["containers"][0]["livenessProbe"]["httpGet"]["pathh"] = "/healthz"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(bad, VERSIONS[-1], strict=True)
    bad = copy.deepcopy(one("Service"))
    bad["spec"]["ports"][0]["port"] = "eighty"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(bad, VERSIONS[-1], strict=True)


def container():
    return one("Deployment")["spec"]["template"]["spec"]["containers"][0]


def test_port_and_probes_match_the_image():
    expose = re.search(r"^EXPOSE (\d+)", dockerfile_runtime_stage(), re.M)
    assert expose, "Dockerfile runtime stage has no EXPOSE"
    ports = {p["name"]: p["containerPort"] for p in container()["ports"]}
    assert ports["http"] == int(expose.group(1))
    c = container()
    assert c["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert c["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert c["startupProbe"]["httpGet"]["path"] == "/healthz"


def test_runs_as_the_images_non_root_user():
    user = re.search(r"^USER (\d+):(\d+)", dockerfile_runtime_stage(), re.M)
    assert user, "Dockerfile runtime stage needs a numeric USER uid:gid (runAsNonRoot checks it)"
    pod = one("Deployment")["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == int(user.group(1)) != 0
    assert pod["securityContext"]["runAsGroup"] == int(user.group(2))
    sc = container()["securityContext"]
    assert sc["allowPrivilegeEscalation"] is False and sc["capabilities"]["drop"] == ["ALL"]


def test_read_only_root_with_writable_tmp():
    assert container()["securityContext"]["readOnlyRootFilesystem"] is True
    mounts = {m["mountPath"]: m["name"] for m in container()["volumeMounts"]}
    volumes = {v["name"]: v for v in one("Deployment")["spec"]["template"]["spec"]["volumes"]}
    assert "/tmp" in mounts, "uploads spool to /tmp: it needs a writable volume"
    assert "emptyDir" in volumes[mounts["/tmp"]]


def test_grace_period_outlasts_readiness_propagation_and_drain():
    pod = one("Deployment")["spec"]["template"]["spec"]
    readiness = container()["readinessProbe"]
    # Load balancers notice the 503 after at most period x failureThreshold; the drain comes on top.
    propagation = readiness["periodSeconds"] * readiness["failureThreshold"]
    assert pod["terminationGracePeriodSeconds"] >= propagation + 60
    assert re.search(r"^STOPSIGNAL SIGTERM", dockerfile_runtime_stage(), re.M)


def test_service_and_budget_select_the_pods():
    deployment = one("Deployment")
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert one("Service")["spec"]["selector"].items() <= labels.items()
    assert one("PodDisruptionBudget")["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert one("PodDisruptionBudget")["spec"]["minAvailable"] < deployment["spec"]["replicas"]
    port_names = {p["name"] for p in container()["ports"]}
    assert all(p["targetPort"] in port_names for p in one("Service")["spec"]["ports"])


def test_hpa_scales_the_deployment_on_cpu():
    hpa = one("HorizontalPodAutoscaler")
    target = hpa["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", one("Deployment")["metadata"]["name"])
    cpu = [m for m in hpa["spec"]["metrics"] if m["type"] == "Resource" and m["resource"]["name"] == "cpu"]
    assert cpu and 0 < cpu[0]["resource"]["target"]["averageUtilization"] <= 100
    # Utilization is relative to the request: without a CPU request the HPA cannot compute it.
    assert "cpu" in container()["resources"]["requests"]
    assert hpa["spec"]["minReplicas"] <= one("Deployment")["spec"]["replicas"] <= hpa["spec"]["maxReplicas"]
