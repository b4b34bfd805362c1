"""The metrics table in docs/operations.md lists exactly what the services expose.

Every metric family registered by ikmkit (``ikm_*`` flow metrics and the OTel-named HTTP
metric) has one row with its type and labels; the meanings are prose, written by hand.
"""

from __future__ import annotations

from pathlib import Path

from prometheus_client import REGISTRY

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "operations.md"
MARK = "<!-- metrics table: checked by tests/unit/test_metrics_reference.py -->"
OURS = ("ikm_", "http_server_")


def exposed() -> dict[str, tuple[str, tuple[str, ...]]]:
    """Name as queried -> (type, label names) of every metric family ikmkit registers."""
    import ikmkit.messaging.relay
    import ikmkit.service.runtime  # noqa: F401

    found: dict[str, tuple[str, tuple[str, ...]]] = {}
    # prometheus-client keeps label names only on the collectors (no public accessor).
    for collector in list(REGISTRY._collector_to_names):
        name, kind = getattr(collector, "_name", ""), getattr(collector, "_type", "")
        if not name.startswith(OURS):
            continue
        queried = f"{name}_total" if kind == "counter" else name
        found[queried] = (kind, tuple(getattr(collector, "_labelnames", ())))
    return found


def documented() -> dict[str, tuple[str, tuple[str, ...]]]:
    text = DOC.read_text()
    assert MARK in text, f"{DOC} lost the marker of its metrics table"
    rows: dict[str, tuple[str, tuple[str, ...]]] = {}
    for line in text.split(MARK, 1)[1].lstrip().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if not line.strip().startswith("|"):
            break
        if len(cells) < 3 or not cells[0].startswith("`"):
            continue  # header and rule
        labels = tuple(x.strip() for x in cells[2].split(",") if x.strip())
        rows[cells[0].strip("`")] = (cells[1], labels)
    return rows


def test_the_operations_guide_lists_every_metric_with_its_type_and_labels() -> None:
    assert documented() == exposed()


def test_the_flow_metrics_keep_their_names() -> None:
    # Dashboards and alert rules query these: renaming one breaks them silently.
    assert {
        "ikm_events_processed_total",
        "ikm_events_failed_total",
        "ikm_events_duplicate_total",
        "ikm_events_dead_lettered_total",
        "ikm_consumer_lag",
        "ikm_outbox_backlog",
        "ikm_outbox_oldest_pending_age_seconds",
        "ikm_outbox_published_total",
        "ikm_outbox_parked",
        "ikm_outbox_republished_total",
        "ikm_outbox_publish_failed_total",
    } <= exposed().keys()
    assert exposed()["http_server_request_duration_seconds"] == (
        "histogram",
        ("service_name", "http_request_method", "http_route", "http_response_status_code"),
    )
