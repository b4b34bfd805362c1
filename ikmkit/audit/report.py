"""Audit reports: JSON (always), CSV (on request); personal data masked per contract."""

from __future__ import annotations

import csv
import json
from collections import Counter
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from contracts import envelope as ce
from ikmkit import spreadsheet
from ikmkit.audit.chain import Checked
from ikmkit.audit.findings import Finding
from ikmkit.audit.masking import mask_payload
from ikmkit.audit.replay import ReplayResult


def trace_id(traceparent: str | None) -> str | None:
    """The trace id of a W3C ``traceparent`` (``00-<trace id>-<span id>-<flags>``)."""
    if not traceparent:
        return None
    parts = traceparent.split("-")
    return parts[1] if len(parts) >= 3 else None


def event_row(checked: Checked) -> dict[str, Any]:
    """One event as an auditor reads it, personal data masked."""
    headers, record = checked.headers, checked.record
    data: Any = None
    try:
        data = json.loads(record.value or b"")
    except ValueError:
        data = None
    if checked.model is not None and isinstance(data, dict):
        data = mask_payload(checked.model, data)
    elif data is not None:
        data = "<not a contract event: payload withheld>"
    return {
        "time": checked.time.isoformat() if checked.time else headers.get(ce.H_TIME),
        "topic": record.topic,
        "partition": record.partition,
        "offset": record.offset,
        "type": checked.model.__name__ if checked.model else headers.get(ce.H_TYPE),
        "subject": headers.get(ce.H_SUBJECT),
        "sequence": checked.sequence,
        "id": headers.get(ce.H_ID),
        "source": headers.get(ce.H_SOURCE),
        "region": headers.get(ce.H_REGION),
        "trace_id": trace_id(headers.get(ce.H_TRACEPARENT)),
        "verified": checked.ok,
        "data": data,
    }


def finding_row(finding: Finding) -> dict[str, Any]:
    return {**asdict(finding), "kind": str(finding.kind), "severity": finding.severity}


def report_document(result: ReplayResult, *, include_events: bool = False) -> dict[str, Any]:
    kinds = Counter(str(f.kind) for f in result.findings)
    document: dict[str, Any] = {
        "generated_at": datetime.now(UTC).isoformat(),
        "topics": result.topics,
        "filters": result.selection.describe(),
        "totals": {
            "read": result.read,
            "selected": result.selected,
            "streams": result.streams,
            "seconds": round(result.seconds, 3),
            "events_per_second": round(result.events_per_second, 1),
            "errors": len(result.errors),
            "warnings": len(result.findings) - len(result.errors),
        },
        "by_topic": dict(sorted(result.by_topic.items())),
        "by_type": dict(sorted(result.by_type.items())),
        "findings_by_kind": dict(sorted(kinds.items())),
        "findings": [finding_row(f) for f in result.findings],
        # what the outboxes say was published, per topic (null: the log was audited alone)
        "outbox": result.published.as_json() if result.published is not None else None,
    }
    if include_events:
        document["events"] = [event_row(c) for c in result.events]
    return document


def write_json(path: Path, document: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def write_findings_csv(path: Path, findings: list[Finding]) -> None:
    columns = [
        "severity", "kind", "topic", "partition", "offset", "subject",
        "sequence", "event_id", "event_type", "detail",
    ]  # fmt: skip
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        for finding in findings:
            writer.writerow(spreadsheet.record(finding_row(finding)))
