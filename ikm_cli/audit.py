"""``ikm audit``: reconstruct and check what happened from the event log alone.

- ``replay``: read topics group-less (production consumer groups are untouched),
  validate every event against its contract and every aggregate's sequence and
  hash chain; summary table, JSON report, CSV of findings on request
  (``ikm_cli/audit_replay.py``).
- ``trail NIB``: one enterprise's story across every service and topic, with trace ids.
- ``rebuild SERVICE``: replay the log through the service's own handlers into a
  scratch store and diff it with the live store.

Kafka comes from ``--kafka``, else ``KAFKA_BOOTSTRAP_SERVERS``, else the running dev
stack. Personal data (fields the contracts mark ``x-personal-data``) is masked in
everything this command prints or writes. Exit status 1 when an integrity error is found.
``--json``: the command's report on stdout, nothing else there.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from ikm_cli.audit_options import (
    KafkaOption,
    TopicOption,
    kafka_servers,
    known_topics,
    log_in_reach,
    progress,
)
from ikm_cli.audit_rebuild import SERVICES, RebuildReport, load_definition, rebuild
from ikm_cli.audit_rebuild_report import print_rebuild, rebuild_document
from ikm_cli.audit_replay import replay_command
from ikm_cli.audit_trail import Trail, enterprise_trail
from ikm_cli.output import JsonOption, emit_json, stderr, stdout
from ikmkit.audit.report import event_row, finding_row, write_json
from ikmkit.service.runtime import ServiceDefinition
from ikmkit.store.port import StoreError
from ikmkit.store.resolve import store_for

app = typer.Typer(help="Audit the event log: replay, trail, rebuild.", no_args_is_help=True)
app.command("replay")(replay_command)


@app.command("trail")
def trail_command(
    nib: Annotated[str, typer.Argument(help="The enterprise's NIB (13 digits).")],
    kafka: KafkaOption = None,
    topic: TopicOption = None,
    output: Annotated[
        Path | None, typer.Option(help="Also write the trail (JSON) to this file.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """One enterprise's full story across services and topics, in event-time order."""
    bootstrap = kafka_servers(kafka)
    with log_in_reach(bootstrap, "trail"):
        topic = known_topics(bootstrap, topic)
        trail = asyncio.run(_trail_with_progress(bootstrap, nib, topic))
    rows = [event_row(c) for c in trail.events]
    document = {"nib": nib, "events": rows, "findings": [finding_row(f) for f in trail.errors]}
    if output is not None:
        write_json(output, document)
    if as_json:
        emit_json(document)
    else:
        _print_trail(trail, rows)
    if trail.errors:
        raise typer.Exit(1)


def _print_trail(trail: Trail, rows: list[dict[str, Any]]) -> None:
    out = stdout()
    table = Table(title=f"trail of {trail.nib}: {len(rows)} events ({trail.read:,} read)")
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


async def _trail_with_progress(kafka: str, nib: str, topics: list[str] | None) -> Trail:
    with progress(f"trail {nib}") as advance:
        return await enterprise_trail(kafka, nib, topics, progress=advance)


@app.command("rebuild")
def rebuild_command(
    service: Annotated[str, typer.Argument(help=f"One of: {', '.join(SERVICES)}.")],
    kafka: KafkaOption = None,
    report: Annotated[Path | None, typer.Option(help="Write the differences as JSON.")] = None,
    as_json: JsonOption = False,
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
    bootstrap = kafka_servers(kafka)
    try:
        with log_in_reach(bootstrap, "rebuild"):
            result = asyncio.run(_rebuild(service, bootstrap, definition))
    except StoreError as exc:  # e.g. a file the service has not migrated yet
        typer.echo(f"audit rebuild: the live store of {service}: {exc}", err=True)
        raise typer.Exit(2) from exc
    document = rebuild_document(result)
    if report is not None:
        write_json(report, document)
    if as_json:
        emit_json(document)
    else:
        print_rebuild(stdout(), result)
    if not result.clean:
        raise typer.Exit(1)


async def _rebuild(service: str, kafka: str, definition: ServiceDefinition[Any]) -> RebuildReport:
    settings = definition.settings
    live = store_for(
        service, mongodb_url=settings.mongodb_url, data_dir=settings.data_dir, migrate=False
    )
    # Every collection the service itself opens (outbox and inbox too); open() only
    # ensures collections and indexes exist: a no-op on a live store.
    await live.open(definition.store_collections())
    try:
        with stderr().status(f"rebuilding {service} from the log ..."):
            return await rebuild(service, kafka, live, definition=definition)
    finally:
        await live.close()
