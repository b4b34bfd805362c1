"""``ikm audit``: reconstruct and check what happened from the event log alone.

- ``replay``: read topics group-less (production consumer groups are untouched),
  validate every event against its contract and every aggregate's sequence and
  hash chain; summary table, JSON report, CSV of findings on request.
- ``trail NIB``: one enterprise's story across every service and topic, with trace ids.
- ``rebuild SERVICE``: replay the log through the service's own handlers into a
  scratch store and diff it with the live store.

Kafka comes from ``--kafka``, else ``KAFKA_BOOTSTRAP_SERVERS``, else the running dev
stack. Personal data (fields the contracts mark ``x-personal-data``) is masked in
everything this command prints or writes. Exit status 1 when an integrity error is found.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from ikm_cli.audit_heads import (
    SERVICES_ENV,
    TOKEN_ENV,
    NoHeadsSource,
    audit_token,
    collect_heads,
    print_published,
    resolve_sources,
)
from ikm_cli.audit_rebuild import SERVICES, RebuildReport, load_definition, rebuild
from ikm_cli.audit_rebuild_report import print_rebuild, rebuild_document
from ikm_cli.audit_trail import Trail, enterprise_trail
from ikm_cli.dev import STATE_FILE
from ikmkit.audit.heads import HeadsUnavailable, OutboxHeads
from ikmkit.audit.replay import (
    DEFAULT_WORKERS,
    PARALLEL_FROM,
    ReplayResult,
    records_in,
    replay,
)
from ikmkit.audit.replay import Progress as ProgressCallback
from ikmkit.audit.report import (
    event_row,
    finding_row,
    report_document,
    write_findings_csv,
    write_json,
)
from ikmkit.audit.selection import Selection
from ikmkit.store.resolve import store_for

app = typer.Typer(help="Audit the event log: replay, trail, rebuild.", no_args_is_help=True)
console = Console(stderr=True)
out = Console()

KafkaOption = Annotated[str | None, typer.Option("--kafka", help="Kafka bootstrap servers.")]
TopicOption = Annotated[
    list[str] | None,
    typer.Option("--topic", "-t", help="Topic to read (repeatable). Default: every ikm.* topic."),
]


def _kafka(kafka: str | None) -> str:
    if kafka or os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
        return kafka or os.environ["KAFKA_BOOTSTRAP_SERVERS"]
    if STATE_FILE.exists():
        return str(json.loads(STATE_FILE.read_text())["kafka"])
    raise typer.BadParameter(
        "no --kafka, no KAFKA_BOOTSTRAP_SERVERS and no dev stack running", param_hint="--kafka"
    )


def _time(value: str | None, name: str) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise typer.BadParameter(f"not an ISO-8601 time: {value!r}", param_hint=name) from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _public_keys(values: list[str] | None) -> dict[str, str]:
    keys = {}
    for value in values or []:
        source, sep, key = value.partition("=")
        if not sep or not key:
            raise typer.BadParameter("expected SOURCE=BASE64KEY", param_hint="--public-key")
        keys[source] = key
    return keys


@contextmanager
def _progress(label: str) -> Iterator[ProgressCallback]:
    """A progress bar with events/s; yields the callback ``replay`` reports to."""
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]:>10,.0f} events/s"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console) as bar:
        task = bar.add_task(label, total=None, rate=0.0)
        started = time.perf_counter()

        def advance(done: int, total: int) -> None:
            rate = done / max(time.perf_counter() - started, 1e-9)
            bar.update(task, completed=done, total=total, rate=rate)

        yield advance


async def _replay_with_progress(
    kafka: str,
    topics: list[str] | None,
    selection: Selection,
    *,
    collect: bool,
    public_keys: dict[str, str] | None,
    workers: int,
    outbox: OutboxHeads | None,
) -> ReplayResult:
    with _progress("replay") as advance:
        return await replay(
            kafka,
            topics,
            selection,
            public_keys=public_keys,
            collect=collect,
            progress=advance,
            workers=workers,
            outbox=outbox,
        )


def _outbox_heads(
    services: list[str] | None,
    stores: list[str] | None,
    token: str | None,
    kafka: str,
    topics: list[str] | None,
) -> OutboxHeads:
    """The outboxes' stream heads, read before the log; exit 2 if they cannot be had."""
    try:
        sources = resolve_sources(services or [], stores or [], kafka)
        with console.status("reading the outboxes' stream heads ..."):
            heads = asyncio.run(collect_heads(sources, audit_token(token), topics))
    except (NoHeadsSource, HeadsUnavailable) as exc:
        console.print(f"[red]audit replay: {exc}")
        raise typer.Exit(2) from exc
    console.print(
        f"outbox stream heads: {len(heads.streams):,} from "
        + ", ".join(f"{name} ({where})" for name, where in heads.sources.items())
    )
    return heads


@app.command("replay")
def replay_command(
    kafka: KafkaOption = None,
    topic: TopicOption = None,
    since: Annotated[str | None, typer.Option(help="Events at or after (ce_time, ISO).")] = None,
    until: Annotated[str | None, typer.Option(help="Events before (ce_time, ISO).")] = None,
    aggregate: Annotated[
        str | None, typer.Option(help="One aggregate (ce_subject), e.g. an NIB.")
    ] = None,
    event_type: Annotated[
        list[str] | None,
        typer.Option("--type", help="Event name or CloudEvents type (repeatable)."),
    ] = None,
    province: Annotated[str | None, typer.Option(help="Province code (ce_region).")] = None,
    report: Annotated[Path, typer.Option(help="JSON report path.")] = Path("audit-report.json"),
    csv_path: Annotated[
        Path | None, typer.Option("--csv", help="Also write the findings as CSV.")
    ] = None,
    events: Annotated[
        bool, typer.Option(help="Include every selected event (masked) in the JSON report.")
    ] = False,
    public_key: Annotated[
        list[str] | None,
        typer.Option(help="SOURCE=BASE64 Ed25519 public key: verify ce_signature (repeatable)."),
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            min=1,
            help=f"Processes sharing the partitions. Default: {DEFAULT_WORKERS} for logs of "
            f"{PARALLEL_FROM:,}+ records, else 1 (always 1 with --events).",
        ),
    ] = None,
    service: Annotated[
        list[str] | None,
        typer.Option(
            help="A service's base URL (or NAME=URL) whose outbox heads the log must match "
            f"(repeatable). Default: {SERVICES_ENV}, else the dev stack's services.",
        ),
    ] = None,
    store: Annotated[
        list[str] | None,
        typer.Option(help="Offline: read SERVICE's outbox heads from its store (repeatable)."),
    ] = None,
    token: Annotated[
        str | None,
        typer.Option(help=f"Bearer token for --service (default {TOKEN_ENV}, else minted)."),
    ] = None,
    log_only: Annotated[
        bool,
        typer.Option(help="Check the log alone: events missing from it go undetected."),
    ] = False,
) -> None:
    """Verify contracts, sequences and hash chains of the log and that it holds every event
    the services' outboxes say was published; write a report."""
    selection = Selection(
        since=_time(since, "--since"),
        until=_time(until, "--until"),
        aggregate=aggregate,
        types=frozenset(event_type or ()),
        province=province,
    )
    bootstrap = _kafka(kafka)
    outbox = None if log_only else _outbox_heads(service, store, token, bootstrap, topic)
    if workers is None:
        large = asyncio.run(records_in(bootstrap, topic)) >= PARALLEL_FROM
        workers = DEFAULT_WORKERS if large else 1
    result = asyncio.run(
        _replay_with_progress(
            bootstrap,
            topic,
            selection,
            collect=events,
            public_keys=_public_keys(public_key),
            workers=workers,
            outbox=outbox,
        )
    )
    document = report_document(result, include_events=events)
    write_json(report, document)
    if csv_path is not None:
        write_findings_csv(csv_path, result.findings)
    _print_summary(result, document)
    print_published(out, result.published)
    console.print(f"report: {report}" + (f", findings CSV: {csv_path}" if csv_path else ""))
    if result.errors:
        raise typer.Exit(1)


def _print_summary(result: ReplayResult, document: dict[str, Any]) -> None:
    totals = document["totals"]
    table = Table(title="audit replay")
    table.add_column("topic")
    table.add_column("events", justify="right")
    for topic in result.topics:
        table.add_row(topic, f"{result.by_topic.get(topic, 0):,}")
    table.add_section()
    table.add_row("[bold]selected / read", f"{totals['selected']:,} / {totals['read']:,}")
    table.add_row("streams (aggregates)", f"{totals['streams']:,}")
    table.add_row("events/s", f"{totals['events_per_second']:,.0f}")
    out.print(table)
    findings = Table(title="findings")
    findings.add_column("kind")
    findings.add_column("count", justify="right")
    for kind, count in document["findings_by_kind"].items():
        findings.add_row(kind, str(count))
    if not document["findings_by_kind"]:
        findings.add_row("[green]none", "0")
    out.print(findings)
    for finding in result.errors[:20]:
        out.print(
            f"[red]{finding.kind}[/] {finding.topic}[{finding.partition}]@{finding.offset} "
            f"{finding.subject} seq={finding.sequence}: {finding.detail}"
        )
    if len(result.errors) > 20:
        out.print(f"... and {len(result.errors) - 20} more in the report")


@app.command("trail")
def trail_command(
    nib: Annotated[str, typer.Argument(help="The enterprise's NIB (13 digits).")],
    kafka: KafkaOption = None,
    topic: TopicOption = None,
    output: Annotated[
        Path | None, typer.Option("--json", help="Also write the trail as JSON.")
    ] = None,
) -> None:
    """One enterprise's full story across services and topics, in event-time order."""
    trail = asyncio.run(_trail_with_progress(_kafka(kafka), nib, topic))
    rows = [event_row(c) for c in trail.events]
    table = Table(title=f"trail of {nib}: {len(rows)} events ({trail.read:,} read)")
    for column in ("time", "type", "source", "subject", "seq", "trace id", "ok"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            row["time"], row["type"], row["source"], row["subject"], str(row["sequence"]),
            row["trace_id"] or "", "yes" if row["verified"] else "[red]NO",
        )  # fmt: skip
    out.print(table)
    for finding in trail.errors[:20]:
        out.print(f"[red]{finding.kind}[/] {finding.topic} {finding.subject}: {finding.detail}")
    if output is not None:
        findings = [finding_row(f) for f in trail.errors]
        write_json(output, {"nib": nib, "events": rows, "findings": findings})
    if trail.errors:
        raise typer.Exit(1)


async def _trail_with_progress(kafka: str, nib: str, topics: list[str] | None) -> Trail:
    with _progress(f"trail {nib}") as advance:
        return await enterprise_trail(kafka, nib, topics, progress=advance)


@app.command("rebuild")
def rebuild_command(
    service: Annotated[str, typer.Argument(help=f"One of: {', '.join(SERVICES)}.")],
    kafka: KafkaOption = None,
    report: Annotated[Path | None, typer.Option(help="Write the differences as JSON.")] = None,
) -> None:
    """Rebuild SERVICE's event-fed state from the log in a scratch store; diff with the live one.

    The live store is the service's own (MONGODB_URL, else IKM_DATA_DIR/<service>.db).
    """
    if service not in SERVICES:
        raise typer.BadParameter(f"one of {', '.join(SERVICES)}", param_hint="service")
    definition = load_definition(service)
    settings = definition.settings
    sqlite_file = settings.data_dir / f"{service}.db"
    if not settings.mongodb_url and not sqlite_file.exists():
        raise typer.BadParameter(
            f"no live store at {sqlite_file} (set IKM_DATA_DIR or MONGODB_URL)"
        )
    result = asyncio.run(_rebuild(service, _kafka(kafka), definition))
    print_rebuild(out, result)
    if report is not None:
        write_json(report, rebuild_document(result))
    if not result.clean:
        raise typer.Exit(1)


async def _rebuild(service: str, kafka: str, definition: Any) -> RebuildReport:
    settings = definition.settings
    live = store_for(service, mongodb_url=settings.mongodb_url, data_dir=settings.data_dir)
    # Every collection the service itself opens (outbox and inbox too); open() only
    # ensures collections and indexes exist: a no-op on a live store.
    await live.open(definition.store_collections())
    try:
        with console.status(f"rebuilding {service} from the log ..."):
            return await rebuild(service, kafka, live, definition=definition)
    finally:
        await live.close()
