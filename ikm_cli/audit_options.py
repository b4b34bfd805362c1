"""What the ``ikm audit`` commands share: where Kafka is, time options, the progress bar."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Annotated

import typer
from aiokafka.errors import KafkaError
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
)

from ikm_cli.output import stderr
from ikm_cli.state import kafka_address
from ikmkit.audit.reader import unknown_topics
from ikmkit.audit.replay import Progress as ProgressCallback

KafkaOption = Annotated[str | None, typer.Option("--kafka", help="Kafka bootstrap servers.")]
TopicOption = Annotated[
    list[str] | None,
    typer.Option("--topic", "-t", help="Topic to read (repeatable). Default: every ikm.* topic."),
]


def kafka_servers(kafka: str | None) -> str:
    """``--kafka``, else ``KAFKA_BOOTSTRAP_SERVERS``, else the running dev stack's broker."""
    found = kafka or os.environ.get("KAFKA_BOOTSTRAP_SERVERS") or kafka_address()
    if found:
        return found
    raise typer.BadParameter(
        "no --kafka, no KAFKA_BOOTSTRAP_SERVERS and no dev stack running", param_hint="--kafka"
    )


@contextmanager
def log_in_reach(kafka: str, command: str) -> Iterator[None]:
    """A broker out of reach is status 2 (the audit could not look), never 1 (a finding)."""
    try:
        yield
    except KafkaError as exc:
        typer.echo(f"audit {command}: cannot read the log at {kafka}: {exc}", err=True)
        raise typer.Exit(2) from exc


def known_topics(kafka: str, topics: list[str] | None) -> list[str] | None:
    """``--topic``'s values, refused if one is neither on the broker nor a contract's topic."""
    unknown = asyncio.run(unknown_topics(kafka, topics)) if topics else []
    if unknown:
        raise typer.BadParameter(
            f"no topic {', '.join(unknown)} on the broker, and no contract names it",
            param_hint="--topic",
        )
    return topics


def parse_time(value: str | None, name: str) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise typer.BadParameter(f"not an ISO-8601 time: {value!r}", param_hint=name) from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@contextmanager
def progress(label: str) -> Iterator[ProgressCallback]:
    """A progress bar with events/s on stderr; yields the callback ``replay`` reports to."""
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]:>10,.0f} events/s"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=stderr()) as bar:
        task = bar.add_task(label, total=None, rate=0.0)
        started = time.perf_counter()

        def advance(done: int, total: int) -> None:
            rate = done / max(time.perf_counter() - started, 1e-9)
            bar.update(task, completed=done, total=total, rate=rate)

        yield advance
