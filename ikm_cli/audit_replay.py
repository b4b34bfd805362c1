"""``ikm audit replay``: verify the log (contracts, sequences, hash chains) against the
outboxes' stream heads; write a report (``--json``: the report on stdout)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated, Any

import typer
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
from ikm_cli.audit_options import KafkaOption, TopicOption, kafka_servers, parse_time, progress
from ikm_cli.output import JsonOption, emit_json, stderr, stdout
from ikmkit.audit.heads import HeadsUnavailable, OutboxHeads
from ikmkit.audit.replay import DEFAULT_WORKERS, PARALLEL_FROM, ReplayResult, records_in, replay
from ikmkit.audit.report import report_document, write_findings_csv, write_json
from ikmkit.audit.selection import Selection

SinceOption = Annotated[str | None, typer.Option(help="Events at or after (ce_time, ISO).")]
UntilOption = Annotated[str | None, typer.Option(help="Events before (ce_time, ISO).")]
TypesOption = Annotated[
    list[str] | None, typer.Option("--type", help="Event name or CloudEvents type (repeatable).")
]
ReportOption = Annotated[Path, typer.Option(help="JSON report path.")]
CsvOption = Annotated[Path | None, typer.Option("--csv", help="Also write the findings as CSV.")]
EventsOption = Annotated[
    bool, typer.Option(help="Include every selected event (masked) in the JSON report.")
]
PublicKeyOption = Annotated[
    list[str] | None,
    typer.Option(help="SOURCE=BASE64 Ed25519 public key: verify ce_signature (repeatable)."),
]
WorkersOption = Annotated[
    int | None,
    typer.Option(
        min=1,
        help=f"Processes sharing the partitions. Default: {DEFAULT_WORKERS} for logs of "
        f"{PARALLEL_FROM:,}+ records, else 1 (always 1 with --events).",
    ),
]
ServiceOption = Annotated[
    list[str] | None,
    typer.Option(
        help="A service's base URL (or NAME=URL) whose outbox heads the log must match "
        f"(repeatable). Default: {SERVICES_ENV}, else the dev stack's services.",
    ),
]
StoreOption = Annotated[
    list[str] | None,
    typer.Option(help="Offline: read SERVICE's outbox heads from its store (repeatable)."),
]
TokenOption = Annotated[
    str | None,
    typer.Option(help=f"Bearer token for --service (else {TOKEN_ENV}, IKM_TOKEN, minted)."),
]
LogOnlyOption = Annotated[
    bool, typer.Option(help="Check the log alone: events missing from it go undetected.")
]


def replay_command(
    kafka: KafkaOption = None,
    topic: TopicOption = None,
    since: SinceOption = None,
    until: UntilOption = None,
    aggregate: Annotated[
        str | None, typer.Option(help="One aggregate (ce_subject), e.g. an NIB.")
    ] = None,
    event_type: TypesOption = None,
    province: Annotated[str | None, typer.Option(help="Province code (ce_region).")] = None,
    report: ReportOption = Path("audit-report.json"),
    csv_path: CsvOption = None,
    events: EventsOption = False,
    public_key: PublicKeyOption = None,
    workers: WorkersOption = None,
    service: ServiceOption = None,
    store: StoreOption = None,
    token: TokenOption = None,
    log_only: LogOnlyOption = False,
    as_json: JsonOption = False,
) -> None:
    """Verify contracts, sequences and hash chains of the log and that it holds every event
    the services' outboxes say was published; write a report."""
    selection = Selection(
        since=parse_time(since, "--since"),
        until=parse_time(until, "--until"),
        aggregate=aggregate,
        types=frozenset(event_type or ()),
        province=province,
    )
    bootstrap = kafka_servers(kafka)
    outbox = None if log_only else _outbox_heads(service, store, token, bootstrap, topic)
    keys = _public_keys(public_key)
    result = _read_log(bootstrap, topic, selection, events, keys, workers, outbox)
    document = report_document(result, include_events=events)
    write_json(report, document)
    if csv_path is not None:
        write_findings_csv(csv_path, result.findings)
    if as_json:
        emit_json(document)
    else:
        _print_summary(result, document)
        print_published(stdout(), result.published)
    where = f"report: {report}" + (f", findings CSV: {csv_path}" if csv_path else "")
    stderr().print(where, markup=False, highlight=False)
    if result.errors:
        raise typer.Exit(1)


def _read_log(
    kafka: str,
    topics: list[str] | None,
    selection: Selection,
    collect: bool,
    public_keys: dict[str, str],
    workers: int | None,
    outbox: OutboxHeads | None,
) -> ReplayResult:
    if workers is None:
        large = asyncio.run(records_in(kafka, topics)) >= PARALLEL_FROM
        workers = DEFAULT_WORKERS if large else 1
    with progress("replay") as advance:
        return asyncio.run(
            replay(
                kafka, topics, selection, public_keys=public_keys, collect=collect,
                progress=advance, workers=workers, outbox=outbox,
            )
        )  # fmt: skip


def _public_keys(values: list[str] | None) -> dict[str, str]:
    keys = {}
    for value in values or []:
        source, sep, key = value.partition("=")
        if not sep or not key:
            raise typer.BadParameter("expected SOURCE=BASE64KEY", param_hint="--public-key")
        keys[source] = key
    return keys


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
        with stderr().status("reading the outboxes' stream heads ..."):
            heads = asyncio.run(collect_heads(sources, audit_token(token), topics))
    except (NoHeadsSource, HeadsUnavailable) as exc:
        stderr().print(f"audit replay: {exc}", style="red", markup=False)
        raise typer.Exit(2) from exc
    stderr().print(
        f"outbox stream heads: {len(heads.streams):,} from "
        + ", ".join(f"{name} ({where})" for name, where in heads.sources.items())
    )
    return heads


def _print_summary(result: ReplayResult, document: dict[str, Any]) -> None:
    out = stdout()
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
