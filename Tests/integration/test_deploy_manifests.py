"""deploy/{postgres,sqlite}/*.yaml: valid Kubernetes objects (strict JSON schemas of several Kubernetes versions,
offline, from the kubernetes-validate package) whose values agree with each other and with the Dockerfile. KEDA's
objects (custom resources the package has no schema for) are checked field by field here."""
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


VARIANTS = ["postgres", "sqlite"]
KEDA_KINDS = {"ScaledObject", "TriggerAuthentication"}


def load_objects():
    assert sorted(p.name for p in DEPLOY.iterdir()) == VARIANTS, "deploy/ holds one folder per job-store variant"
    objects = []
    for variant in VARIANTS:
        files = sorted((DEPLOY / variant).glob("*.yaml"))
        assert files, f"no manifests in deploy/{variant}"
        for f in files:
            for doc in yaml.safe_load_all(f.read_text()):
                if doc is not None:
                    objects.append((f"{variant}/{f.name}", doc))
    return objects


OBJECTS = load_objects()
KUBERNETES_OBJECTS = [(n, d) for n, d in OBJECTS if d["kind"] not in KEDA_KINDS]


def one(kind, variant="postgres"):
    found = [doc for name, doc in OBJECTS if doc["kind"] == kind and name.startswith(variant + "/")]
    assert len(found) == 1, f"expected one {kind} in deploy/{variant}, found {len(found)}"
    return found[0]


def dockerfile_runtime_stage():
    text = (ROOT / "Dockerfile").read_text()
    return text[text.rindex("\nFROM "):]  # the last stage is the image that runs


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("name,doc", KUBERNETES_OBJECTS, ids=[f"{n}:{d['kind']}" for n, d in KUBERNETES_OBJECTS])
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


def container(variant="postgres"):
    return one("Deployment", variant)["spec"]["template"]["spec"]["containers"][0]


@pytest.mark.parametrize("variant", VARIANTS)
def test_port_and_probes_match_the_image(variant):
    expose = re.search(r"^EXPOSE (\d+)", dockerfile_runtime_stage(), re.M)
    assert expose, "Dockerfile runtime stage has no EXPOSE"
    ports = {p["name"]: p["containerPort"] for p in container(variant)["ports"]}
    assert ports["http"] == int(expose.group(1))
    c = container(variant)
    assert c["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert c["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert c["startupProbe"]["httpGet"]["path"] == "/healthz"


@pytest.mark.parametrize("variant", VARIANTS)
def test_runs_as_the_images_non_root_user(variant):
    user = re.search(r"^USER (\d+):(\d+)", dockerfile_runtime_stage(), re.M)
    assert user, "Dockerfile runtime stage needs a numeric USER uid:gid (runAsNonRoot checks it)"
    pod = one("Deployment", variant)["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == int(user.group(1)) != 0
    assert pod["securityContext"]["runAsGroup"] == int(user.group(2))
    sc = container(variant)["securityContext"]
    assert sc["allowPrivilegeEscalation"] is False and sc["capabilities"]["drop"] == ["ALL"]


@pytest.mark.parametrize("variant", VARIANTS)
def test_read_only_root_with_writable_tmp(variant):
    assert container(variant)["securityContext"]["readOnlyRootFilesystem"] is True
    mounts = {m["mountPath"]: m["name"] for m in container(variant)["volumeMounts"]}
    volumes = {v["name"]: v for v in one("Deployment", variant)["spec"]["template"]["spec"]["volumes"]}
    assert "/tmp" in mounts, "uploads spool to /tmp: it needs a writable volume"
    assert "emptyDir" in volumes[mounts["/tmp"]]


@pytest.mark.parametrize("variant", VARIANTS)
def test_grace_period_outlasts_readiness_propagation_and_drain(variant):
    pod = one("Deployment", variant)["spec"]["template"]["spec"]
    readiness = container(variant)["readinessProbe"]
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


def test_sqlite_variant_is_one_replica_on_a_persistent_volume():
    deployment = one("Deployment", "sqlite")
    assert deployment["spec"]["replicas"] == 1 and deployment["spec"]["strategy"]["type"] == "Recreate"
    env = {e["name"]: e.get("value") for e in container("sqlite")["env"]}
    store = env["AFFECTD_JOB_STORE"]
    assert store.startswith("sqlite:///")
    data_dir = store[len("sqlite://"):].rsplit("/", 1)[0]
    mounts = {m["mountPath"]: m["name"] for m in container("sqlite")["volumeMounts"]}
    volumes = {v["name"]: v for v in deployment["spec"]["template"]["spec"]["volumes"]}
    claim = volumes[mounts[data_dir]]["persistentVolumeClaim"]["claimName"]
    pvc = one("PersistentVolumeClaim", "sqlite")
    assert pvc["metadata"]["name"] == claim and pvc["spec"]["accessModes"] == ["ReadWriteOnce"]
    # The image makes the same directory, owned by its user, and declares it a volume.
    assert f"VOLUME {data_dir}" in dockerfile_runtime_stage() and data_dir == "/var/lib/affectd"
    assert one("Service", "sqlite")["spec"]["selector"].items() <= \
        deployment["spec"]["template"]["metadata"]["labels"].items()
    scalers = KEDA_KINDS | {"HorizontalPodAutoscaler"}
    assert not [d for n, d in OBJECTS if n.startswith("sqlite/") and d["kind"] in scalers]


def test_postgres_variant_reads_the_store_from_a_secret():
    env = {e["name"]: e for e in container("postgres")["env"]}
    ref = env["AFFECTD_JOB_STORE"]["valueFrom"]["secretKeyRef"]
    auth = one("TriggerAuthentication")
    assert auth["apiVersion"] == "keda.sh/v1alpha1"
    assert {"parameter": "connection", "name": ref["name"], "key": ref["key"]} in auth["spec"]["secretTargetRef"]


def test_keda_scales_the_deployment_on_unfinished_jobs():
    scaled = one("ScaledObject")
    assert scaled["apiVersion"] == "keda.sh/v1alpha1"
    allowed = {"scaleTargetRef", "minReplicaCount", "maxReplicaCount", "pollingInterval", "cooldownPeriod", "advanced",
               "triggers"}
    assert set(scaled["spec"]) <= allowed, set(scaled["spec"]) - allowed
    target = scaled["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", one("Deployment")["metadata"]["name"])
    assert 1 <= scaled["spec"]["minReplicaCount"] <= one("Deployment")["spec"]["replicas"] <= \
        scaled["spec"]["maxReplicaCount"]
    behavior = scaled["spec"]["advanced"]["horizontalPodAutoscalerConfig"]["behavior"]
    kubernetes_validate.validate({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
                                  "metadata": {"name": "x"},
                                  "spec": {"scaleTargetRef": target, "maxReplicas": 2, "behavior": behavior}},
                                 VERSIONS[-1], strict=True)
    triggers = {t["type"]: t for t in scaled["spec"]["triggers"]}
    assert set(triggers) == {"postgresql", "cpu"}
    pg = triggers["postgresql"]
    assert set(pg["metadata"]) == {"query", "targetQueryValue", "activationTargetQueryValue"}
    assert int(pg["metadata"]["targetQueryValue"]) >= 1
    assert pg["authenticationRef"]["name"] == one("TriggerAuthentication")["metadata"]["name"]
    assert 0 < int(triggers["cpu"]["metadata"]["value"]) <= 100 and triggers["cpu"]["metricType"] == "Utilization"
    # Utilization is relative to the request: without a CPU request the HPA cannot compute it.
    assert "cpu" in container()["resources"]["requests"]

