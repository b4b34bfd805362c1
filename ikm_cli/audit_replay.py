"""``ikm audit replay``: verify the log (contracts, sequences, hash chains) against the
outboxes' stream heads; write a report (``--json``: the report on stdout)."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from contracts.base import CE_TYPE_PREFIX
from contracts.catalog import EVENTS_BY_NAME, EVENTS_BY_TYPE, TOPIC_OWNERS
from contracts.topics import source_of
from contracts.values import is_province
from ikm_cli.audit_heads import (
    SERVICES_ENV,
    TOKEN_ENV,
    NoHeadsSource,
    audit_token,
    collect_heads,
    print_published,
    resolve_sources,
)
from ikm_cli.audit_options import (
    KafkaOption,
    TopicOption,
    kafka_servers,
    known_topics,
    log_in_reach,
    parse_time,
    progress,
)
from ikm_cli.output import JsonOption, emit_json, stderr, stdout
from ikmkit.audit.heads import HeadsUnavailable, OutboxHeads
from ikmkit.audit.replay import DEFAULT_WORKERS, PARALLEL_FROM, ReplayResult, records_in, replay
from ikmkit.audit.report import report_document, write_findings_csv, write_json
from ikmkit.audit.selection import Selection
from ikmkit.messaging.signing import load_public_key

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
        types=_event_types(event_type),
        province=_province(province),
    )
    bootstrap = kafka_servers(kafka)
    keys = _public_keys(public_key)
    with log_in_reach(bootstrap, "replay"):
        topic = known_topics(bootstrap, topic)
        outbox = None if log_only else _outbox_heads(service, store, token, bootstrap, topic)
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


# Findings are reported for the selected events only: a filter no event can pass would
# report nothing, whatever the log holds, so a mistyped one is refused.
_LOGGED_TYPE = re.compile(re.escape(CE_TYPE_PREFIX) + r"[A-Za-z_]\w*\.v[0-9]+")


def _event_types(values: list[str] | None) -> frozenset[str]:
    """Contracts' names or CloudEvents types, or a full type no contract has (as logged)."""
    for value in values or ():
        known = value in EVENTS_BY_NAME or value in EVENTS_BY_TYPE
        if not known and not _LOGGED_TYPE.fullmatch(value):
            raise typer.BadParameter(
                f"no event type {value!r}: an event's name (e.g. EnterpriseRegistered) or a "
                f"whole CloudEvents type ({CE_TYPE_PREFIX}<Name>.v<N>)",
                param_hint="--type",
            )
    return frozenset(values or ())


def _province(value: str | None) -> str | None:
    if value is not None and not is_province(value):
        raise typer.BadParameter(
            f"no province {value!r}: a Kemendagri province code (34)", param_hint="--province"
        )
    return value


def _public_keys(values: list[str] | None) -> dict[str, str]:
    """``ce_source`` -> key, from SOURCE=KEY or SERVICE=KEY (as IKM_EVENT_PUBLIC_KEYS names
    them). A source no service publishes as would check nothing, silently: refused."""
    sources = {source_of(service) for service in TOPIC_OWNERS.values()}
    keys = {}
    for value in values or []:
        source, sep, key = value.partition("=")
        if not sep or not key:
            raise typer.BadParameter("expected SOURCE=BASE64KEY", param_hint="--public-key")
        if source not in sources and source_of(source) in sources:
            source = source_of(source)
        if source not in sources:
            raise typer.BadParameter(
                f"no service publishes as {source!r}: one of {', '.join(sorted(sources))}",
                param_hint="--public-key",
            )
        try:
            load_public_key(key)
        except ValueError as exc:
            raise typer.BadParameter(f"{source}: {exc}", param_hint="--public-key") from exc
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
