"""deploy/kubernetes/, proved without a cluster: every manifest against Kubernetes' own schemas, and what
the manifests say against what the code does.

There is no cluster here: the core resources (Deployments, Services, the Job, the PodDisruptionBudgets, the
ConfigMap) are validated, strictly (no unknown field), by kubernetes-validate against the OpenAPI schemas
it ships for the oldest and the newest Kubernetes versions named below. KEDA's ScaledObject is a custom
resource those schemas do not hold: its fields are checked here against the queue it must read. Nothing
is applied or run (docs/operations.md says so).
"""

from __future__ import annotations

from pathlib import Path

import kubernetes_validate
import pytest
import yaml
from django.conf import settings

from config.health import PATH as HEALTH_PATH
from scripts.compose_smoke import REQUIRED, load_compose
from tests.support.paths import REPO

pytestmark = pytest.mark.once

DEPLOY = REPO / "deploy" / "kubernetes"
#: The oldest Kubernetes still maintained when the manifests were written, and the newest the schemas know.
VERSIONS = ("1.31.0", kubernetes_validate.latest_version())
CUSTOM = {"Kustomization", "ScaledObject"}


def documents() -> list[tuple[Path, dict]]:
    return [(path, doc) for path in sorted(DEPLOY.glob("*.yaml")) for doc in yaml.safe_load_all(path.read_text())]


def resource(kind: str, name: str) -> dict:
    return next(doc for _, doc in documents() if doc["kind"] == kind and doc["metadata"]["name"] == name)


def container(name: str) -> dict:
    return resource("Deployment", name)["spec"]["template"]["spec"]["containers"][0]


@pytest.mark.parametrize("version", VERSIONS)
def test_every_core_resource_validates_strictly_against_kubernetes_schemas(version):
    checked = 0
    for path, doc in documents():
        if doc["kind"] in CUSTOM:
            continue
        try:
            kubernetes_validate.validate(doc, version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            pytest.fail(f"{path.name}: {doc['kind']} {doc['metadata']['name']}: {exc.message}")
        checked += 1
    assert checked == 9


def test_a_misspelt_field_is_caught_by_the_validation():
    """The check above can fail: a probe's name misspelt is an unknown field."""
    web = resource("Deployment", "demoseed-web")
    spec = web["spec"]["template"]["spec"]["containers"][0]
    spec["readinesProbe"] = spec.pop("readinessProbe")
    with pytest.raises(kubernetes_validate.ValidationError, match="readinesProbe"):
        kubernetes_validate.validate(web, VERSIONS[0], strict=True)


def test_the_kustomization_lists_every_manifest_and_names_the_image_every_workload_uses():
    kustomization = yaml.safe_load((DEPLOY / "kustomization.yaml").read_text())
    assert sorted(kustomization["resources"]) == sorted(
        p.name for p in DEPLOY.glob("*.yaml") if p.stem != "kustomization"
    )
    [image] = kustomization["images"]
    workloads = [doc for _, doc in documents() if doc["kind"] in ("Deployment", "Job")]
    assert len(workloads) == 4
    assert {doc["spec"]["template"]["spec"]["containers"][0]["image"] for doc in workloads} == {image["name"]}


def test_the_workloads_run_what_the_compose_stack_runs_with_the_same_settings():
    """The same commands as docker-compose.yml's services, every setting from the ConfigMap and the Secret,
    and the ConfigMap's names those of compose's environment (docs/operations.md lists them)."""
    compose = load_compose(dict(REQUIRED))
    commands = {
        "demoseed-web": "web",
        "demoseed-worker": "worker",
        "demoseed-monitor": "monitor",
    }
    for deployment, service in commands.items():
        ours, theirs = container(deployment)["command"], [str(part) for part in compose["services"][service]["command"]]
        assert ours[:3] == theirs[:3], (deployment, ours, theirs)
        assert {flag for flag in ours if flag.startswith("--")} >= {flag for flag in theirs if flag.startswith("--")}
        refs = [next(iter(source.values()))["name"] for source in container(deployment)["envFrom"]]
        assert refs == ["demoseed-settings", "demoseed"]
    settings_map = resource("ConfigMap", "demoseed-settings")["data"]
    assert set(settings_map) <= set(compose["services"]["web"]["environment"]) | {"MONITOR_ADMIN_URL"}
    assert not {"DATABASE_URL", "REDIS_URL", "DJANGO_SECRET_KEY", "MONITOR_PASSWORD"} & set(settings_map)


def test_probes_ask_the_health_endpoints_and_workers_get_time_to_hand_their_chunks_on():
    web, monitor = container("demoseed-web"), container("demoseed-monitor")
    assert web["readinessProbe"]["httpGet"]["path"] == HEALTH_PATH
    assert monitor["readinessProbe"]["httpGet"]["path"] == monitor["livenessProbe"]["httpGet"]["path"]
    worker = resource("Deployment", "demoseed-worker")["spec"]["template"]["spec"]
    command = worker["containers"][0]["command"]
    shutdown_ms = int(command[command.index("--worker-shutdown-timeout") + 1])
    assert shutdown_ms / 1000 + 10 <= worker["terminationGracePeriodSeconds"]
    for name in ("demoseed-web", "demoseed-worker"):
        assert resource("PodDisruptionBudget", name)["spec"]["selector"]["matchLabels"] == {
            "app.kubernetes.io/name": name
        }
    for _, doc in documents():
        for spec in [doc["spec"]["template"]["spec"]] if doc["kind"] in ("Deployment", "Job") else []:
            assert spec["securityContext"]["runAsNonRoot"] and spec["containers"][0]["resources"]["requests"]


def test_keda_scales_the_workers_on_dramatiqs_queue_within_the_connection_budget():
    scaled = resource("ScaledObject", "demoseed-worker")
    assert scaled["apiVersion"] == "keda.sh/v1alpha1"
    assert scaled["spec"]["scaleTargetRef"]["name"] == resource("Deployment", "demoseed-worker")["metadata"]["name"]
    [trigger] = scaled["spec"]["triggers"]
    # Dramatiq's Redis broker keeps a queue as the list "<namespace>:<queue>", its namespace "dramatiq".
    assert trigger["type"] == "redis" and trigger["metadata"]["listName"] == f"dramatiq:{settings.SEED_QUEUE}"
    assert int(trigger["metadata"]["listLength"]) > 0
    assert 1 <= scaled["spec"]["minReplicaCount"] <= scaled["spec"]["maxReplicaCount"] <= 8
