"""Alerts and dashboards select and group by labels the series really carry.

A name check alone (test_observability.py) passes ``ikm_outbox_backlog{group="x"}`` or
``sum by (service) (rate(ikm_events_processed_total[5m]))``, which select or group nothing
and stay silent for ever. Here each expression's labels are followed through the PromQL tree:
a selector of a metric the code registers carries the labels it declares (``le`` on
``_bucket``) plus the scrape target's (``job``, ``instance``, ``ikm_service``: prometheus.yml
and deploy/k8s/monitoring); an aggregation keeps its ``by`` labels, ``on`` keeps the matching
labels, ``and``/``unless`` keep the left side's. Series the code does not define (``up``,
``probe_success``, the collector's) are not judged.
"""

from __future__ import annotations

import importlib
from functools import cache
from typing import Any

import promql_parser as promql
import pytest
from prometheus_client import REGISTRY

from tests.deploy.observability import alert_rules, dashboard_queries, load_dashboards

TARGET_LABELS = frozenset({"job", "instance", "ikm_service"})
SCALAR = frozenset({"<scalar>"})
KEEP_INPUT = {"topk", "bottomk", "limitk", "limit_ratio"}
SET_OPERATORS = {"and", "or", "unless"}


@cache
def code_metrics() -> dict[str, frozenset[str]]:
    """Series name -> labels, from the metrics the services register when imported."""
    for service in ("registry", "subsidy", "training", "notify", "insights"):
        importlib.import_module(f"services.{service}.main")
    found: dict[str, frozenset[str]] = {}
    for name, collector in REGISTRY._names_to_collectors.items():
        labels = frozenset(getattr(collector, "_labelnames", ()))
        found[name] = labels | ({"le"} if name.endswith("_bucket") else set()) | TARGET_LABELS
    return found


class LabelError(AssertionError):
    pass


def labels_of(node: Any) -> frozenset[str] | None:
    """The labels the node's series carry (None: a series the code does not define)."""
    if isinstance(node, (promql.NumberLiteral, promql.StringLiteral)):
        return SCALAR
    if isinstance(node, promql.VectorSelector):
        return _selector(node)
    if isinstance(node, promql.MatrixSelector):
        return labels_of(node.vector_selector)
    if isinstance(node, (promql.ParenExpr, promql.UnaryExpr, promql.SubqueryExpr)):
        return labels_of(node.expr)
    if isinstance(node, promql.Call):
        return _call(node)
    if isinstance(node, promql.AggregateExpr):
        return _aggregate(node)
    if isinstance(node, promql.BinaryExpr):
        return _binary(node)
    raise LabelError(f"{type(node).__name__} not followed")


def _selector(node: Any) -> frozenset[str] | None:
    known = code_metrics().get(node.name)
    if known is None:
        return None
    named = {m.name for m in node.matchers.matchers} - {"__name__"}
    if named - known:
        raise LabelError(f"{node.name} has no label {sorted(named - known)}")
    return known


def _call(node: Any) -> frozenset[str] | None:
    vectors = [labels_of(a) for a in node.args]
    vectors = [v for v in vectors if v != SCALAR]
    if not vectors or vectors[0] is None:
        return vectors[0] if vectors else SCALAR
    if node.func.name == "histogram_quantile":
        return vectors[0] - {"le"}
    if node.func.name in ("label_replace", "label_join"):
        return vectors[0] | {str(node.args[1]).strip('"')}
    return vectors[0]


def _aggregate(node: Any) -> frozenset[str] | None:
    inner = labels_of(node.expr)
    if node.op.__str__() in KEEP_INPUT:
        return inner
    modifier = node.modifier
    if modifier is None:
        return frozenset()
    named = frozenset(modifier.labels)
    if str(modifier).startswith("without"):
        return None if inner is None else inner - named
    if inner is not None and named - inner:
        raise LabelError(f"by ({', '.join(sorted(named - inner))}): not on {sorted(inner)}")
    return named


def _binary(node: Any) -> frozenset[str] | None:
    left, right = labels_of(node.lhs), labels_of(node.rhs)
    if SCALAR in (left, right):
        return right if left == SCALAR else left
    matching = node.modifier.matching if node.modifier else None
    if matching is not None:
        named = frozenset(matching.labels)
        for side in (left, right):
            if side is not None and named - side:
                raise LabelError(f"on ({', '.join(sorted(named - side))}): not on {sorted(side)}")
    operator = str(node.op)
    if operator == "or":
        return None if left is None or right is None else left | right
    if operator in SET_OPERATORS or matching is None:
        return left
    on = str(matching).startswith("on")
    if left is None:
        return None
    return frozenset(matching.labels) if on else left - set(matching.labels)


def check(expr: str) -> None:
    labels_of(promql.parse(expr))


@pytest.mark.parametrize("rule", alert_rules(), ids=lambda r: r["alert"])
def test_every_alert_selects_and_groups_by_labels_its_series_carry(rule: dict[str, Any]) -> None:
    check(rule["expr"])


def test_every_dashboard_query_selects_and_groups_by_labels_its_series_carry() -> None:
    failures = []
    for name, dashboard in load_dashboards().items():
        for expr in dashboard_queries(dashboard):
            try:
                check(expr)
            except LabelError as exc:
                failures.append(f"{name}: {expr}: {exc}")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize(
    "expr",
    [
        'ikm_outbox_backlog{group="x"} > 0',
        "sum by (service) (rate(ikm_events_processed_total[5m]))",
        "max by (group, partition) (ikm_outbox_backlog)",
        "sum by (service) (ikm_outbox_backlog) and on (group) sum by (group) (ikm_consumer_lag)",
        "sum by (ikm_service) (sum by (service) (ikm_outbox_backlog))",
        "histogram_quantile(0.9, sum by (le, http_route) (rate(ikm_outbox_backlog[5m])))",
    ],
)
def test_the_check_catches_labels_a_series_lacks(expr: str) -> None:
    with pytest.raises(LabelError):
        check(expr)


@pytest.mark.parametrize(
    "expr",
    [
        'sum by (ikm_service) (rate(http_server_request_duration_seconds_count{job="ikm"}[5m]))',
        "histogram_quantile(0.99, sum by (le, http_route) "
        "(rate(http_server_request_duration_seconds_bucket[5m])))",
        "max by (group, topic, partition) (ikm_consumer_lag) > 100",
        'up{job="ikm"} == 0',
    ],
)
def test_the_check_accepts_what_the_series_carry(expr: str) -> None:
    check(expr)
