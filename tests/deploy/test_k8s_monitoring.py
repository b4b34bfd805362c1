"""On Kubernetes the services' alerts can fire: a PodMonitor gives every pod's series the labels
the rules select on (``job="ikm"``, ``ikm_service``), as compose's Prometheus configuration
does, and a PrometheusRule carries the same rules as ``deploy/prometheus/rules/ikm-alerts.yml``.

Prometheus Operator names a PodMonitor's job ``<namespace>/<name>`` and adds no ``ikm_service``:
without relabelings ``up{job="ikm"} == 0`` and every ``by (ikm_service)`` rule select nothing.
The relabelings are applied here as Prometheus applies them, to each rendered Deployment's pod.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.deploy.manifests import K8S, by_kind, k8s_errors, render, rendered
from tests.deploy.observability import PROMETHEUS, alert_rules, load_yaml, selectors

MONITORING = K8S / "monitoring"
RULES_FILE = PROMETHEUS / "rules" / "ikm-alerts.yml"


def pod_meta_labels(namespace: str, pod: dict[str, Any]) -> dict[str, str]:
    labels = {"__meta_kubernetes_namespace": namespace}
    for name, value in pod["metadata"]["labels"].items():
        labels[f"__meta_kubernetes_pod_label_{re.sub(r'[^a-zA-Z0-9_]', '_', name)}"] = value
    return labels


def relabel(labels: dict[str, str], configs: list[dict[str, Any]]) -> dict[str, str]:
    """Prometheus' ``replace`` (the only action used here) and ``keep``/``drop``."""
    labels = dict(labels)
    for config in configs:
        action = config.get("action", "replace").lower()
        value = config.get("separator", ";").join(
            labels.get(s, "") for s in config.get("sourceLabels", [])
        )
        match = re.fullmatch(config.get("regex", "(.*)"), value)
        if (action == "keep" and not match) or (action == "drop" and match):
            return {}
        if action == "replace" and match:
            target = match.expand(config.get("replacement", "$1").replace("$", "\\"))
            labels[config["targetLabel"]] = target
        elif action not in ("replace", "keep", "drop"):
            raise AssertionError(f"relabel action {action} not simulated")
    return labels


def target_labels(monitor: dict[str, Any], namespace: str, pod: dict[str, Any]) -> dict[str, str]:
    """The labels Prometheus Operator's job gives a target (before meta labels are dropped)."""
    [endpoint] = monitor["spec"]["podMetricsEndpoints"]
    job = f"{namespace}/{monitor['metadata']['name']}"  # the operator's default job name
    labels = pod_meta_labels(namespace, pod) | {"job": job}
    labels = relabel(labels, endpoint.get("relabelings", []))
    return {k: v for k, v in labels.items() if not k.startswith("__")}


def jobs_the_rules_select() -> set[str]:
    found = set()
    for rule in alert_rules():
        for selector in selectors(rule["expr"]):
            for matcher in selector.matchers.matchers:
                if matcher.name == "job":
                    found.add(matcher.value)
    return found


def test_the_monitoring_kustomization_renders_and_matches_the_crds() -> None:
    documents = render(MONITORING)
    assert {d["kind"] for d in documents} == {"PodMonitor", "PrometheusRule"}
    for document in documents:
        assert k8s_errors(document) == [], document["metadata"]["name"]


@pytest.mark.parametrize("overlay", ["dev", "prod"])
def test_every_service_pod_is_scraped_with_the_labels_the_alerts_select(overlay: str) -> None:
    monitor = by_kind(render(MONITORING), "PodMonitor")["ikm-services"]
    [endpoint] = monitor["spec"]["podMetricsEndpoints"]
    assert "ikm" in jobs_the_rules_select()
    for name, deployment in by_kind(rendered(overlay), "Deployment").items():
        pod = deployment["spec"]["template"]
        selected = (
            monitor["spec"]["selector"]["matchLabels"].items() <= pod["metadata"]["labels"].items()
        )
        assert selected, f"{name}'s pods are not scraped"
        container = pod["spec"]["containers"][0]
        assert endpoint["port"] in {p["name"] for p in container["ports"]}
        assert endpoint["path"] == pod["metadata"]["annotations"]["prometheus.io/path"]
        labels = target_labels(monitor, deployment["metadata"]["namespace"], pod)
        assert labels["job"] == "ikm", f'{name}: up{{job="ikm"}} would not select it'
        assert labels["ikm_service"] == name


def test_the_label_check_fails_without_the_relabelings() -> None:
    monitor = by_kind(render(MONITORING), "PodMonitor")["ikm-services"]
    bare = {**monitor, "spec": {**monitor["spec"], "podMetricsEndpoints": [{"port": "http"}]}}
    pod = {"metadata": {"labels": {"app.kubernetes.io/name": "registry"}}}
    assert target_labels(bare, "ikm", pod) == {"job": "ikm/ikm-services"}


def test_the_prometheus_rule_carries_the_compose_rules() -> None:
    rule = by_kind(render(MONITORING), "PrometheusRule")["ikm-services"]
    assert rule["spec"] == load_yaml(RULES_FILE), "edit both rule files"
