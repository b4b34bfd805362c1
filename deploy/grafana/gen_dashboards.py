"""Writes the Grafana dashboards of deploy/grafana/dashboards/ (one per service, one for
the event flow) from the services' consumer groups, so a new consumer shows up by itself.

    python deploy/grafana/gen_dashboards.py

tests/deploy/test_observability.py fails while the committed JSON differs from what this
prints, and checks every query parses and names only metrics the code defines. Series are
selected by ``ikm_service`` (the scrape target's host: deploy/prometheus/prometheus.yml) and
by ``group`` (consumer group).
"""

from __future__ import annotations

import importlib
import json
import runpy
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
OUT = Path(__file__).resolve().parent / "dashboards"
SERVICES = ("registry", "subsidy", "training", "notify", "insights")
DATASOURCE = {"type": "prometheus", "uid": "prometheus"}
RATE = "[$__rate_interval]"
HTTP = "http_server_request_duration_seconds"


def panel(title: str, targets: list[tuple[str, str]], unit: str = "short") -> dict[str, Any]:
    return {
        "type": "timeseries",
        "title": title,
        "datasource": DATASOURCE,
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "options": {"legend": {"displayMode": "list", "placement": "bottom"}},
        "targets": [
            {
                "refId": chr(ord("A") + i),
                "datasource": DATASOURCE,
                "expr": e,
                "legendFormat": legend,
            }
            for i, (e, legend) in enumerate(targets)
        ],
    }


def row(title: str) -> dict[str, Any]:
    return {"type": "row", "title": title, "collapsed": False, "panels": []}


def layout(panels: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows span the width; other panels go two abreast under them."""
    y, x, placed = 0, 0, []
    for i, item in enumerate(panels, start=1):
        if item["type"] == "row":
            y, x = y + (8 if x else 0), 0
            position = {"h": 1, "w": 24, "x": 0, "y": y}
            y += 1
        else:
            position = {"h": 8, "w": 12, "x": x, "y": y}
            y, x = (y + 8, 0) if x else (y, 12)
        placed.append({**item, "gridPos": position, "id": i})
    return placed


def dashboard(uid: str, title: str, panels: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "uid": uid,
        "title": title,
        "tags": ["ikm"],
        "timezone": "browser",
        "schemaVersion": 39,
        "version": 1,
        "editable": True,
        "refresh": "30s",
        "time": {"from": "now-1h", "to": "now"},
        "annotations": {"list": []},
        "templating": {"list": []},
        "panels": layout(panels),
    }


def http_panels(service: str) -> list[dict[str, Any]]:
    sel = f'ikm_service="{service}"'
    count = f"{HTTP}_count"
    quantiles = [
        (f"histogram_quantile({q}, sum by (le) (rate({HTTP}_bucket{{{sel}}}{RATE})))", f"p{p}")
        for q, p in ((0.5, 50), (0.95, 95), (0.99, 99))
    ]
    return [
        row("HTTP"),
        panel(
            "Requests per second by route",
            [(f"sum by (http_route) (rate({count}{{{sel}}}{RATE}))", "{{http_route}}")],
            "reqps",
        ),
        panel("Latency", quantiles, "s"),
        panel(
            "5xx share of responses",
            [
                (
                    f'sum(rate({count}{{{sel}, http_response_status_code=~"5.."}}{RATE}))'
                    f" / sum(rate({count}{{{sel}}}{RATE}))",
                    "5xx",
                )
            ],
            "percentunit",
        ),
        panel(
            "Responses by status",
            [
                (
                    f"sum by (http_response_status_code) (rate({count}{{{sel}}}{RATE}))",
                    "{{http_response_status_code}}",
                )
            ],
            "reqps",
        ),
        panel("Replicas up", [(f'sum(up{{job="ikm", {sel}}})', "up")]),
    ]


def outbox_panels(service: str) -> list[dict[str, Any]]:
    sel = f'ikm_service="{service}"'
    return [
        row("Outbox (events waiting for Kafka)"),
        panel(
            "Backlog and parked",
            [
                (f"max(ikm_outbox_backlog{{{sel}}})", "backlog"),
                (f"max(ikm_outbox_parked{{{sel}}})", "parked"),
            ],
        ),
        panel(
            "Oldest pending event",
            [(f"max(ikm_outbox_oldest_pending_age_seconds{{{sel}}})", "age")],
            "s",
        ),
        panel(
            "Relayed and failed per second",
            [
                (f"sum(rate(ikm_outbox_published_total{{{sel}}}{RATE}))", "published"),
                (
                    f"sum by (kind) (rate(ikm_outbox_publish_failed_total{{{sel}}}{RATE}))",
                    "failed {{kind}}",
                ),
                (f"sum(rate(ikm_outbox_republished_total{{{sel}}}{RATE}))", "republished"),
            ],
            "ops",
        ),
    ]


def consumer_panels(group: str) -> list[dict[str, Any]]:
    sel = f'group="{group}"'
    return [
        row(f"Consumer group {group}"),
        panel(
            "Processed per second by event type",
            [(f"sum by (type) (rate(ikm_events_processed_total{{{sel}}}{RATE}))", "{{type}}")],
            "ops",
        ),
        panel(
            "Lag by topic",
            [
                (
                    f"sum by (topic) (max by (topic, partition) (ikm_consumer_lag{{{sel}}}))",
                    "{{topic}}",
                )
            ],
        ),
        panel(
            "Failed attempts and duplicates per second",
            [
                (
                    f"sum by (reason) (rate(ikm_events_failed_total{{{sel}}}{RATE}))",
                    "failed {{reason}}",
                ),
                (f"sum(rate(ikm_events_duplicate_total{{{sel}}}{RATE}))", "duplicate"),
            ],
            "ops",
        ),
        panel(
            "Dead-lettered (last hour)",
            [
                (
                    "sum by (topic, reason)"
                    f" (increase(ikm_events_dead_lettered_total{{{sel}}}[1h]))",
                    "{{topic}} {{reason}}",
                )
            ],
        ),
    ]


def service_dashboard(service: str, groups: set[str]) -> dict[str, Any]:
    panels = http_panels(service) + outbox_panels(service)
    for group in sorted(groups):
        panels += consumer_panels(group)
    return dashboard(f"ikm-{service}", f"IKM {service}", panels)


def event_flow_dashboard() -> dict[str, Any]:
    lag = "max by (group, topic, partition) (ikm_consumer_lag)"
    panels = [
        row("Consumers"),
        panel(
            "Lag by group and topic", [(f"sum by (group, topic) ({lag})", "{{group}} {{topic}}")]
        ),
        panel(
            "Processed per second by group",
            [(f"sum by (group) (rate(ikm_events_processed_total{RATE}))", "{{group}}")],
            "ops",
        ),
        panel(
            "Dead-lettered (last hour)",
            [
                (
                    "sum by (group, topic, reason) (increase(ikm_events_dead_lettered_total[1h]))",
                    "{{group}} {{topic}} {{reason}}",
                )
            ],
        ),
        panel(
            "Failed attempts per second",
            [
                (
                    f"sum by (group, reason) (rate(ikm_events_failed_total{RATE}))",
                    "{{group}} {{reason}}",
                )
            ],
            "ops",
        ),
        row("Outboxes"),
        panel("Backlog by service", [("max by (service) (ikm_outbox_backlog)", "{{service}}")]),
        panel(
            "Oldest pending event by service",
            [("max by (service) (ikm_outbox_oldest_pending_age_seconds)", "{{service}}")],
            "s",
        ),
        panel("Parked events", [("max by (service) (ikm_outbox_parked)", "{{service}}")]),
        panel(
            "Relayed and republished per second",
            [
                (f"sum by (service) (rate(ikm_outbox_published_total{RATE}))", "{{service}}"),
                (
                    f"sum by (service) (rate(ikm_outbox_republished_total{RATE}))",
                    "{{service}} republished",
                ),
            ],
            "ops",
        ),
    ]
    return dashboard("ikm-event-flow", "IKM event flow", panels)


def dashboards(groups: dict[str, set[str]]) -> dict[str, dict[str, Any]]:
    """File name -> dashboard, given each service's consumer groups."""
    found = {f"ikm-{s}.json": service_dashboard(s, groups.get(s, set())) for s in SERVICES}
    found["ikm-event-flow.json"] = event_flow_dashboard()
    return found


def consumer_groups() -> dict[str, set[str]]:
    sys.path.insert(0, str(ROOT))
    acls = runpy.run_path(str(ROOT / "scripts" / "kafka_acls.py"))
    return {
        s: set(acls["subscriptions"](importlib.import_module(f"services.{s}.main").definition()))
        for s in SERVICES
    }


def main() -> None:
    for name, board in dashboards(consumer_groups()).items():
        (OUT / name).write_text(json.dumps(board, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
