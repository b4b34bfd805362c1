"""``ikm registry`` commands."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from contracts.topics import source_of
from ikm_cli.devkeys import stored_private_key
from ikmkit.messaging.outbox import OUTBOX_COLLECTIONS, Outbox
from ikmkit.messaging.signing import signer_from_key
from ikmkit.service.errors import InvalidInput
from ikmkit.store.resolve import store_for
from services.registry import bulk
from services.registry.service import Ports
from services.registry.settings import RegistrySettings
from services.registry.store import COLLECTIONS

app = typer.Typer(help="registry commands.", no_args_is_help=True)
console = Console(stderr=True)


def _count_rows(path: Path) -> int:
    with path.open("rb") as handle:
        return max(sum(1 for _ in handle) - 1, 0)


async def _import(path: Path, errors_path: Path, batch_size: int | None) -> bulk.ImportReport:
    settings = RegistrySettings()
    store = store_for("registry", mongodb_url=settings.mongodb_url, data_dir=settings.data_dir)
    # The same key as the running registry, so consumers that verify signatures accept these
    # events: the configured one, else the one `ikm dev up` made for this data dir.
    key = (
        settings.event_signing_key.get_secret_value()
        if settings.event_signing_key
        else stored_private_key("registry", settings.data_dir)
    )
    outbox = Outbox(source_of("registry"), signer=signer_from_key(key) if key else None)
    await store.open([*COLLECTIONS, *OUTBOX_COLLECTIONS])
    try:
        columns = (
            TextColumn("[bold]importing"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("rows"),
            TimeElapsedColumn(),
        )
        with Progress(*columns, console=console) as progress, path.open(newline="") as handle:
            task = progress.add_task("import", total=_count_rows(path))
            report = await bulk.import_enterprises(
                bulk.read_csv(handle),
                Ports(store, outbox),
                batch_size=batch_size or settings.import_batch_size,
                on_progress=lambda n: progress.advance(task, n),
            )
    finally:
        await store.close()
    with errors_path.open("w", newline="") as out:
        bulk.write_error_report(report.errors, out)
    return report


@app.command("import")
def import_csv(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="CSV of enterprises.")],
    errors: Annotated[
        Path | None, typer.Option(help="Per-row error report (default FILE.errors.csv).")
    ] = None,
    batch_size: Annotated[int | None, typer.Option(help="Rows per unit of work.")] = None,
) -> None:
    """Validate and import enterprises from a CSV file into the registry's store.

    Idempotent: rows whose NIB is registered already are skipped. The events are written to
    the registry's outbox; a running registry publishes them. Columns: see
    ``services/registry/bulk.py``.
    """
    errors_path = errors or file.with_suffix(".errors.csv")
    started = time.perf_counter()
    try:
        report = asyncio.run(_import(file, errors_path, batch_size))
    except InvalidInput as exc:
        console.print(f"[red]{exc.message}[/]")
        raise typer.Exit(2) from exc
    elapsed = time.perf_counter() - started
    console.print(
        f"{report.rows} rows in {elapsed:.1f}s ({report.rows / max(elapsed, 1e-9):,.0f} rows/s):"
        f" {report.imported} imported, {report.existing} already registered,"
        f" {report.rejected_rows} rejected ({len(report.errors)} errors, see {errors_path})"
    )
    if report.errors:
        raise typer.Exit(1)
