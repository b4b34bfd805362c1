"""The alerts checked by Prometheus' own tool: ``promtool check`` parses the rule files and the
configuration, ``promtool test rules`` replays synthetic series (deploy/prometheus/tests/) and
asserts each alert fires on its failure with the labels its runbook uses, and stays quiet on a
healthy neighbour. promtool comes from Debian's prometheus package (scripts/ensure-promtool,
run by ``make install``)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy.manifests import DEPLOY, by_kind, load_documents
from tests.deploy.observability import PROMETHEUS, RULE_FILES, alert_rules, load_yaml

PROMTOOL = shutil.which("promtool")
UNIT_TESTS = PROMETHEUS / "tests"
KAFKA_RULES = DEPLOY / "k8s" / "external" / "kafka-monitoring.yaml"

pytestmark = pytest.mark.skipif(
    PROMTOOL is None, reason="promtool not installed: run scripts/ensure-promtool"
)


def promtool(*args: str, cwd: Path) -> str:
    assert PROMTOOL
    result = subprocess.run(
        [PROMTOOL, *args], capture_output=True, text=True, check=False, cwd=cwd, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def kafka_rules() -> dict[str, Any]:
    spec: dict[str, Any] = by_kind(load_documents(KAFKA_RULES), "PrometheusRule")["ikm-kafka"][
        "spec"
    ]
    return spec


def without_annotations(rules: dict[str, Any]) -> dict[str, Any]:
    """promtool compares annotations too; they are checked in test_observability."""
    for group in rules["groups"]:
        for rule in group["rules"]:
            rule.pop("annotations", None)
    return rules


def test_promtool_accepts_the_rules_and_the_configuration(tmp_path: Path) -> None:
    for path in RULE_FILES:
        promtool("check", "rules", str(path), cwd=tmp_path)
    (tmp_path / "ikm-kafka.yml").write_text(yaml.safe_dump(kafka_rules()), encoding="utf-8")
    promtool("check", "rules", "ikm-kafka.yml", cwd=tmp_path)
    promtool("check", "config", "--syntax-only", str(PROMETHEUS / "prometheus.yml"), cwd=tmp_path)


def test_each_alert_fires_on_its_failure_and_not_on_health(tmp_path: Path) -> None:
    for path in RULE_FILES:
        rules = without_annotations(load_yaml(path))
        (tmp_path / path.name).write_text(yaml.safe_dump(rules), encoding="utf-8")
    (tmp_path / "ikm-kafka.yml").write_text(
        yaml.safe_dump(without_annotations(kafka_rules())), encoding="utf-8"
    )
    tested = set()
    for unit in sorted(UNIT_TESTS.glob("*.test.yml")):
        shutil.copy(unit, tmp_path / unit.name)
        promtool("test", "rules", unit.name, cwd=tmp_path)
        for case in load_yaml(unit)["tests"]:
            tested |= {
                check["alertname"] for check in case["alert_rule_test"] if check["exp_alerts"]
            }
    kafka = {r["alert"] for g in kafka_rules()["groups"] for r in g["rules"]}
    assert tested == {rule["alert"] for rule in alert_rules()} | kafka, "an alert without a test"


def test_a_wrong_expression_fails_its_unit_test(tmp_path: Path) -> None:
    rules = without_annotations(load_yaml(RULE_FILES[0]))
    for group in rules["groups"]:
        for rule in group["rules"]:
            if rule["alert"] == "IkmConsumerStalled":
                rule["expr"] = rule["expr"].replace("unless on (group)", "and on (group)")
    (tmp_path / RULE_FILES[0].name).write_text(yaml.safe_dump(rules), encoding="utf-8")
    unit = UNIT_TESTS / "ikm-alerts.test.yml"
    shutil.copy(unit, tmp_path / unit.name)
    with pytest.raises(AssertionError, match="IkmConsumerStalled"):
        promtool("test", "rules", unit.name, cwd=tmp_path)
