"""Compose file and Kubernetes manifests: valid against their schemas, and wired as intended."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy.manifests import (
    K8S,
    OVERLAYS,
    RenderError,
    by_kind,
    compose_errors,
    k8s_errors,
    k8s_resource_files,
    load_compose,
    load_documents,
    render,
    rendered,
)

APP_SERVICES = ("registry", "subsidy", "training", "notify", "insights")


# --- compose --------------------------------------------------------------------------------


def test_compose_file_matches_the_compose_specification() -> None:
    assert compose_errors(load_compose()) == []


def test_compose_schema_check_rejects_a_broken_file() -> None:
    broken = load_compose()
    broken["services"]["mongodb"]["depends_on"] = {"kafka": {"condition": "service_ready"}}
    broken["services"]["jaeger"]["helthcheck"] = {"test": ["CMD", "true"]}
    errors = compose_errors(broken)
    assert any("services.mongodb.depends_on" in e for e in errors), errors
    assert any("helthcheck" in e for e in errors), errors


def test_compose_starts_everything_in_order() -> None:
    services = load_compose()["services"]
    for name, service in services.items():
        for dependency, rule in service.get("depends_on", {}).items():
            assert dependency in services, f"{name} depends on unknown {dependency}"
            condition = rule["condition"]
            if condition == "service_healthy":
                assert "healthcheck" in services[dependency], f"{dependency} has no healthcheck"
            if condition == "service_completed_successfully":
                assert services[dependency].get("restart") == "no", f"{dependency} is a job"
    for name in APP_SERVICES:
        conditions = {d: r["condition"] for d, r in services[name]["depends_on"].items()}
        assert conditions["kafka"] == "service_healthy"
        assert conditions["topics"] == "service_completed_successfully"
        assert conditions["mongodb-init"] == "service_completed_successfully"
        assert "/readyz" in " ".join(services[name]["healthcheck"]["test"])
    assert "--replSet" in services["mongodb"]["command"]
    assert services["kafka"]["image"].startswith("apache/kafka:")
    assert services["kafka"]["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert "mailpit" in services["notify"]["depends_on"]


# --- kubernetes ------------------------------------------------------------------------------


@pytest.mark.parametrize("path", k8s_resource_files(), ids=lambda p: str(p.relative_to(K8S)))
def test_every_manifest_matches_the_kubernetes_schema(path: Path) -> None:
    for document in load_documents(path):
        assert k8s_errors(document) == [], f"{document['kind']}/{document['metadata']['name']}"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_rendered_overlay_matches_the_kubernetes_schema(overlay: str) -> None:
    documents = rendered(overlay)
    assert {d["kind"] for d in documents} >= {
        "Deployment",
        "Service",
        "HorizontalPodAutoscaler",
        "PodDisruptionBudget",
        "NetworkPolicy",
        "ConfigMap",
    }
    for document in documents:
        assert k8s_errors(document) == [], f"{document['kind']}/{document['metadata']['name']}"


def test_kubernetes_schema_check_rejects_a_broken_deployment() -> None:
    deployment = copy.deepcopy(by_kind(rendered("prod"), "Deployment")["registry"])
    deployment["spec"]["replicas"] = "three"
    deployment["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["httpGet"][
        "pathh"
    ] = "/readyz"
    errors = k8s_errors(deployment)
    assert any("replicas" in e for e in errors), errors
    assert any("pathh" in e for e in errors), errors  # strict: unknown fields are errors


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_each_service_has_probes_resources_autoscaling_budget_and_policy(overlay: str) -> None:
    documents = rendered(overlay)
    deployments = by_kind(documents, "Deployment")
    namespace = {"dev": "ikm-dev", "prod": "ikm"}[overlay]
    assert set(deployments) == set(APP_SERVICES)
    for name, deployment in deployments.items():
        assert deployment["metadata"]["namespace"] == namespace
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        # Only what HTTP needs: tests/integration/test_traffic_readiness.py runs this probe.
        assert container["readinessProbe"]["httpGet"] == {"path": "/readyz/traffic", "port": "http"}
        assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
        assert {"cpu", "memory"} <= container["resources"]["requests"].keys()
        assert {"cpu", "memory"} <= container["resources"]["limits"].keys()
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        selector = deployment["spec"]["selector"]["matchLabels"]
        assert selector.items() <= deployment["spec"]["template"]["metadata"]["labels"].items()

        hpa = by_kind(documents, "HorizontalPodAutoscaler")[name]
        assert hpa["spec"]["scaleTargetRef"] == {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "name": name,
        }
        assert hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"]
        assert (
            by_kind(documents, "PodDisruptionBudget")[name]["spec"]["selector"]["matchLabels"]
            == selector
        )
        assert by_kind(documents, "Service")[name]["spec"]["selector"] == selector
        policy = by_kind(documents, "NetworkPolicy")[name]
        assert policy["spec"]["podSelector"]["matchLabels"] == selector
        assert set(policy["spec"]["policyTypes"]) == {"Ingress", "Egress"}
    default_deny = by_kind(documents, "NetworkPolicy")["ikm-default-deny"]
    assert "ingress" not in default_deny["spec"] and "egress" not in default_deny["spec"]


def test_consumers_never_scale_past_the_partitions_they_can_use() -> None:
    topics = load_documents(K8S / "external" / "kafka-topics.yaml")
    partitions = min(t["spec"]["partitions"] for t in topics)
    for overlay in OVERLAYS:
        documents = rendered(overlay)
        created = int(by_kind(documents, "ConfigMap")["ikm-topics"]["data"]["partitions"])
        for hpa in by_kind(documents, "HorizontalPodAutoscaler").values():
            assert hpa["spec"]["maxReplicas"] <= partitions
            assert hpa["spec"]["maxReplicas"] <= max(created, 2)


def test_only_notify_may_leave_the_cluster() -> None:
    policies = by_kind(rendered("prod"), "NetworkPolicy")

    def external(policy: dict[str, Any]) -> list[Any]:
        return [rule for rule in policy["spec"].get("egress", []) if "ipBlock" in str(rule)]

    assert external(policies["notify"])
    for name in (s for s in APP_SERVICES if s != "notify"):
        assert external(policies[name]) == [], name


def test_dev_overlay_carries_its_secret_and_prod_does_not() -> None:
    assert "ikm-secrets" in by_kind(rendered("dev"), "Secret")
    assert by_kind(rendered("prod"), "Secret") == {}
    prod = by_kind(rendered("prod"), "Deployment")["registry"]
    assert prod["spec"]["template"]["spec"]["containers"][0]["image"].endswith(":1.0.0")


def test_external_operator_examples_parse() -> None:
    kinds = set()
    for path in sorted((K8S / "external").glob("*.yaml")):
        if path.name == "kustomization.yaml":  # lists resources, is none
            continue
        for document in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            assert {"apiVersion", "kind", "metadata", "spec"} <= document.keys(), path
            kinds.add(document["kind"])
    assert kinds == {
        "Kafka",
        "KafkaNodePool",
        "KafkaTopic",
        "KafkaUser",
        "MongoDBCommunity",
        "PodMonitor",
        "PrometheusRule",
    }


# --- the rendering plumbing (kubectl kustomize) ----------------------------------------------


def test_kustomize_merges_named_lists_and_refuses_a_broken_kustomization(tmp_path: Path) -> None:
    base = {"containers": [{"name": "a", "image": "x", "env": [{"name": "K", "value": "1"}]}]}
    patch = {"containers": [{"name": "a", "env": [{"name": "L", "value": "2"}]}]}

    def deployment(pod: dict[str, Any]) -> dict[str, Any]:
        return {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "a"},
            "spec": {"template": {"spec": pod}},
        }

    (tmp_path / "base.yaml").write_text(yaml.safe_dump(deployment(base)))
    (tmp_path / "patch.yaml").write_text(yaml.safe_dump(deployment(patch)))
    (tmp_path / "kustomization.yaml").write_text(
        "resources: [base.yaml]\npatches: [{path: patch.yaml}]\n"
    )
    [merged] = [d["spec"]["template"]["spec"] for d in render(tmp_path)]
    assert merged["containers"][0]["image"] == "x"
    # Kustomize's strategic merge puts the patch's new list items first.
    assert [e["name"] for e in merged["containers"][0]["env"]] == ["L", "K"]

    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "kustomization.yaml").write_text("configMapGeneratr: []\n")
    with pytest.raises(RenderError, match="configMapGeneratr"):
        render(broken)
