"""Prometheus' configuration, its rule files and the Grafana dashboards match the
SchemaStore schemas editors validate them with (vendored: tests/deploy/schemas/README.md)."""

from __future__ import annotations

import json
from typing import Any

from jsonschema import Draft7Validator

from tests.deploy.manifests import DEPLOY, SCHEMAS, by_kind, load_documents
from tests.deploy.observability import PROMETHEUS, RULE_FILES, load_dashboards, load_yaml

SCHEMASTORE = SCHEMAS / "schemastore"


def errors(schema: str, document: Any) -> list[str]:
    validator = Draft7Validator(json.loads((SCHEMASTORE / schema).read_text(encoding="utf-8")))
    return [
        f"{'.'.join(map(str, e.absolute_path)) or '(root)'}: {e.message[:200]}"
        for e in validator.iter_errors(document)
    ]


def test_prometheus_configuration_matches_its_schema() -> None:
    assert errors("prometheus.json", load_yaml(PROMETHEUS / "prometheus.yml")) == []


def test_rule_files_match_the_rules_schema() -> None:
    for path in RULE_FILES:
        assert errors("prometheus.rules.json", load_yaml(path)) == [], path.name
    kafka = load_documents(DEPLOY / "k8s" / "external" / "kafka-monitoring.yaml")
    rule = by_kind(kafka, "PrometheusRule")["ikm-kafka"]
    assert errors("prometheus.rules.json", rule["spec"]) == []


def test_dashboards_match_the_grafana_dashboard_schema() -> None:
    for name, dashboard in load_dashboards().items():
        assert errors("grafana-dashboard-5.x.json", dashboard) == [], name


def test_schema_checks_reject_misspelt_keys() -> None:
    config = load_yaml(PROMETHEUS / "prometheus.yml")
    config["scrape_configs"][0]["scrape_intervall"] = "1m"
    assert any("scrape_intervall" in e for e in errors("prometheus.json", config))
    rules = load_yaml(RULE_FILES[0])
    rules["groups"][0]["rules"][0]["anotations"] = {}
    assert errors("prometheus.rules.json", rules)
    rules = load_yaml(RULE_FILES[0])
    rules["groups"][0]["rules"][0]["for"] = "ten minutes"
    assert errors("prometheus.rules.json", rules)
