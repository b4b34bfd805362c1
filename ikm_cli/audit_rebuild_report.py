"""How ``ikm audit rebuild`` shows its report: a table on the terminal, a JSON document."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from ikm_cli.audit_rebuild import RebuildReport


def print_rebuild(out: Console, result: RebuildReport) -> None:
    table = Table(title=f"rebuild {result.service}: {result.events_replayed:,} events replayed")
    for column in ("collection", "live", "rebuilt", "differences"):
        table.add_column(column)
    for name, (live, rebuilt) in result.compared.items():
        count = sum(1 for d in result.differences if d.collection == name)
        table.add_row(name, str(live), str(rebuilt), str(count) if count else "[green]0")
    for name, reason in result.skipped.items():
        table.add_row(name, "", "", f"[dim]skipped: {reason}")
    out.print(table)
    out.print(
        f"outbox stream heads checked against the log: {result.streams_checked}, "
        f"differences: {len(result.stream_differences)}"
    )
    for difference in result.differences[:30]:
        fields = f" fields {', '.join(difference.fields)}" if difference.fields else ""
        out.print(f"[red]{difference.kind}[/] {difference.collection}/{difference.doc_id}{fields}")
    for stream in result.stream_differences[:30]:
        out.print(f"[red]stream[/] {stream.topic} {stream.subject}: {stream.detail}")
    if result.dead_lettered:
        out.print(f"[yellow]{len(result.dead_lettered)} events dead-lettered during the rebuild")
    out.print("[green]no differences" if result.clean else "[red]differences found")


def rebuild_document(result: RebuildReport) -> dict[str, Any]:
    return {
        "service": result.service,
        "topics": result.topics,
        "events_replayed": result.events_replayed,
        "compared": {k: {"live": v[0], "rebuilt": v[1]} for k, v in result.compared.items()},
        "skipped": result.skipped,
        "differences": [d.__dict__ | {"fields": list(d.fields)} for d in result.differences],
        "stream_differences": [s.__dict__ for s in result.stream_differences],
        "dead_lettered": result.dead_lettered,
        "seconds": round(result.seconds, 3),
    }
