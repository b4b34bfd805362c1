"""What the monitoring files name, and what the code defines, read at test time.

Metric names come from the code's definitions (prometheus-client constructors and OpenTelemetry
instruments); PromQL is parsed with ``promql-parser`` (the Rust PromQL parser used by GreptimeDB),
so a typo in an expression fails here, not at 3 a.m.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import promql_parser
import yaml

from tests.deploy.manifests import DEPLOY, ROOT

PROMETHEUS = DEPLOY / "prometheus"
GRAFANA = DEPLOY / "grafana"
RULE_FILES = sorted((PROMETHEUS / "rules").glob("*.yml"))
DASHBOARDS = sorted((GRAFANA / "dashboards").glob("*.json"))
OPERATIONS_DOC = ROOT / "docs" / "operations.md"
CODE_DIRS = ("ikmkit", "services", "contracts")

# Series no code of ours defines: Prometheus' own per-target `up`, the blackbox exporter's
# probe results, and the Prometheus client's process collector.
EXTERNAL = {"up", "probe_success", "probe_http_status_code", "probe_duration_seconds"}

_CLIENT = re.compile(r"\b(Counter|Gauge|Histogram|Summary)\(\s*\"([a-zA-Z_:][\w:]*)\"")
_OTEL = re.compile(
    r"create_(counter|up_down_counter|histogram|gauge|observable_counter|observable_gauge"
    r"|observable_up_down_counter)\(\s*(?:name\s*=\s*)?\"([\w.]+)\"(?P<rest>[^)]*)\)",
    re.DOTALL,
)
_UNITS = {"s": "seconds", "ms": "milliseconds", "By": "bytes", "1": "ratio"}


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


@cache
def defined_metrics() -> frozenset[str]:
    """Every series name the code can expose, with the suffixes each type adds."""
    names: set[str] = set()
    for directory in CODE_DIRS:
        for path in (ROOT / directory).rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            for kind, name in _CLIENT.findall(text):
                names |= _exposed(kind.lower(), name)
            for match in _OTEL.finditer(text):
                unit = re.search(r"unit\s*=\s*\"([^\"]*)\"", match["rest"])
                name = match[2].replace(".", "_")
                if unit and unit[1] in _UNITS and not name.endswith(_UNITS[unit[1]]):
                    name = f"{name}_{_UNITS[unit[1]]}"
                names |= _exposed(match[1].removeprefix("observable_"), name)
    return frozenset(names)


def _exposed(kind: str, name: str) -> set[str]:
    if kind == "counter":
        base = name.removesuffix("_total")
        return {f"{base}_total", f"{base}_created"}
    if kind in ("histogram", "summary"):
        return {name, *(f"{name}_{s}" for s in ("bucket", "count", "sum", "created"))}
    return {name}


def selectors(expr: str) -> list[promql_parser.VectorSelector]:
    """The vector selectors of a PromQL expression (ValueError if it does not parse)."""
    found: list[promql_parser.VectorSelector] = []

    def visit(node: Any) -> None:
        if isinstance(node, promql_parser.VectorSelector):
            found.append(node)

    promql_parser.walk(promql_parser.parse(expr), visit)
    return found


def metric_names(expr: str) -> set[str]:
    names = set()
    for selector in selectors(expr):
        if selector.name:
            names.add(selector.name)
        for matcher in selector.matchers.matchers:
            if matcher.name == "__name__":
                names.add(matcher.value)
    return names


def alert_rules() -> list[dict[str, Any]]:
    return [
        rule
        for path in RULE_FILES
        for group in load_yaml(path)["groups"]
        for rule in group["rules"]
        if "alert" in rule
    ]


def dashboard_queries(dashboard: dict[str, Any]) -> list[str]:
    """Every PromQL expression of a dashboard's panels, with variables substituted."""
    exprs = []
    for panel in _panels(dashboard["panels"]):
        for target in panel.get("targets", []):
            if "expr" in target:
                exprs.append(_substitute(target["expr"]))
    return exprs


def _panels(panels: list[dict[str, Any]]) -> list[dict[str, Any]]:
    flat = []
    for panel in panels:
        flat.append(panel)
        flat += _panels(panel.get("panels", []))
    return flat


def _substitute(expr: str) -> str:
    return re.sub(r"\$__(rate_interval|interval|range)|\$\{?\w+\}?", _variable, expr)


def _variable(match: re.Match[str]) -> str:
    return "5m" if match[0].startswith("$__") else "x"


def load_dashboards() -> dict[str, dict[str, Any]]:
    return {p.name: json.loads(p.read_text(encoding="utf-8")) for p in DASHBOARDS}


def doc_anchors(path: Path) -> set[str]:
    """GitHub's heading anchors of a Markdown file."""
    anchors = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        heading = re.match(r"^#{1,6}\s+(.*)$", line)
        if heading:
            slug = re.sub(r"[^\w\- ]", "", heading[1].strip().lower()).replace(" ", "-")
            anchors.add(slug)
    return anchors
