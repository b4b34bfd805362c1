"""``ikm registry`` commands: clients of the registry's HTTP API (it owns its store)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, TextIO

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from ikm_cli.client import ServiceClient, ServiceError, TokenOption, UrlOption, connect
from ikm_cli.enterprise_csv import (
    UTF8,
    EncodingOption,
    MissingColumns,
    RowError,
    batches,
    read_rows,
    row_errors,
    undecodable,
    write_error_report,
)
from ikm_cli.link_csv import MOUS, PARTNERS
from ikm_cli.output import JsonOption, emit_json, fail, stderr
from ikmkit.service.limits import BULK_MAX

app = typer.Typer(help="registry commands: bulk import.", no_args_is_help=True)
HTTP_TOO_LARGE = 413


@dataclass(frozen=True)
class Target:
    """What a file is imported as: the endpoint, the key naming a row's record, the reader."""

    path: str
    key: str
    read: Callable[[TextIO], Iterator[dict[str, Any]]]
    existing: str
    """How the summary names the rows that were there already."""


ENTERPRISES = Target("/enterprises/import", "nib", read_rows, "already registered")
PARTNER_TARGET = Target("/partners/import", "partner_id", PARTNERS.read_rows, "already registered")
MOU_TARGET = Target("/mous/import", "mou_id", MOUS.read_rows, "already imported")


@dataclass
class ImportTotals:
    """The registry's per-request answers summed over the file, rows numbered as in it."""

    rows: int = 0
    imported: int = 0
    existing: int = 0
    rejected: int = 0
    results: list[dict[str, Any]] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    key: str = "nib"
    first_rows: dict[str, int] = field(default_factory=dict)
    """The file's row naming each record first, over the requests answered so far."""

    def add(self, answer: dict[str, Any], before: int) -> None:
        for key in ("rows", "imported", "existing", "rejected"):
            setattr(self, key, getattr(self, key) + int(answer[key]))
        earlier = dict(self.first_rows)
        for answered in answer["results"]:
            index = before + int(answered["index"])
            result = self._repeated(answered, earlier)
            self.results.append({**result, "index": index, "row": index + 1})
            self.errors += row_errors(result, index + 1, self.key)
            self.first_rows.setdefault(str(result.get(self.key) or ""), index + 1)
        self.first_rows.pop("", None)

    def _repeated(self, result: dict[str, Any], earlier: dict[str, int]) -> dict[str, Any]:
        """A row naming a record an earlier request's row named, as the registry answers a
        repeat in one request (``duplicate_in_file``): it was ``existing`` (its own cells
        silently dropped) only because the file went in batches."""
        first = earlier.get(str(result.get(self.key) or ""))
        if first is None or result["status"] != "existing":
            return result
        self.existing, self.rejected = self.existing - 1, self.rejected + 1
        message = f"the {self.key} is in an earlier row of this file (row {first})"
        error = {"field": self.key, "rule": "duplicate_in_file", "message": message}
        return {**result, "status": "rejected", "errors": [error]}

    def document(self) -> dict[str, Any]:
        counts = ("rows", "imported", "existing", "rejected")
        return {**{k: getattr(self, k) for k in counts}, "results": self.results}


def _count_rows(path: Path) -> int:
    with path.open("rb") as handle:
        return max(sum(1 for _ in handle) - 1, 0)


def send_rows(
    client: ServiceClient,
    rows: Iterable[dict[str, Any]],
    batch: int,
    advance: Callable[[int], None] = lambda n: None,
    target: Target = ENTERPRISES,
) -> ImportTotals:
    """POST the rows in batches to the target (``/enterprises/import`` unless told);
    ServiceError stops at a refusal."""
    totals = ImportTotals(key=target.key)
    for before, chunk in batches(rows, batch):
        _send(client, target.path, chunk, before, totals)
        advance(len(chunk))
    return totals


def _send(
    client: ServiceClient,
    path: str,
    chunk: list[dict[str, Any]],
    before: int,
    totals: ImportTotals,
) -> None:
    """One batch; a batch over the service's body limit (413) is sent again in halves."""
    try:
        # Sent again if unanswered: rows it registered the first time come back as existing.
        answer = client.call("POST", path, json={"rows": chunk}, again=True)
    except ServiceError as exc:
        if exc.status != HTTP_TOO_LARGE or len(chunk) == 1:
            raise
        half = len(chunk) // 2
        stderr().print(f"{len(chunk)} rows are too large for one request: sending {half}")
        _send(client, path, chunk[:half], before, totals)
        _send(client, path, chunk[half:], before + half, totals)
        return
    totals.add(answer, before)


def _import(
    client: ServiceClient, file: Path, batch: int, target: Target, encoding: str
) -> ImportTotals:
    columns = (
        TextColumn("[bold]importing"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("rows"),
        TimeElapsedColumn(),
    )
    with (
        Progress(*columns, console=stderr()) as progress,
        file.open(newline="", encoding=encoding) as handle,
    ):
        task = progress.add_task("import", total=_count_rows(file))
        rows = target.read(handle)
        return send_rows(client, rows, batch, lambda n: progress.advance(task, n), target)


def _summarize(totals: ImportTotals, elapsed: float, errors_path: Path, target: Target) -> None:
    stderr().print(
        f"{totals.rows} rows in {elapsed:.1f}s ({totals.rows / max(elapsed, 1e-9):,.0f} rows/s):"
        f" {totals.imported} imported, {totals.existing} {target.existing},"
        f" {totals.rejected} rejected ({len(totals.errors)} errors, see {errors_path})",
        highlight=False,
        markup=False,
    )


@app.command("import")
def import_csv(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="CSV of enterprises.")],
    errors: Annotated[
        Path | None, typer.Option(help="Per-row error report (default FILE.errors.csv).")
    ] = None,
    batch: Annotated[
        int, typer.Option(min=1, max=BULK_MAX, help="Rows per request (one unit of work).")
    ] = 1000,
    url: UrlOption = None,
    token: TokenOption = None,
    as_json: JsonOption = False,
    encoding: EncodingOption = UTF8,
) -> None:
    """Import enterprises from a CSV file through the registry's POST /enterprises/import.

    Every row is checked by the registry with the rules of POST /enterprises; rows whose NIB
    is registered already are skipped (re-sending a file changes nothing). Rejected rows go
    to the error report (row, nib, field, rule, message); exit 1 if there are any. Columns:
    see ``ikm_cli/enterprise_csv.py``. Cells are separated by ``,`` or, as Excel saves them
    with Indonesian settings, by ``;`` (found from the header line).
    """
    run_import(file, errors, batch, url, token, as_json, ENTERPRISES, encoding)


def run_import(
    file: Path,
    errors: Path | None,
    batch: int,
    url: str | None,
    token: str | None,
    as_json: bool,
    target: Target,
    encoding: str = UTF8,
) -> None:
    """Send the file in batches, write the error report, summarize; exit 1 on rejected rows
    (2: a file it cannot read: a missing column, not text in its encoding)."""
    errors_path = errors or file.with_suffix(".errors.csv")
    started = time.perf_counter()
    with connect("registry", url, token, timeout=300) as client:
        try:
            totals = _import(client, file, batch, target, encoding)
        except MissingColumns as exc:
            fail(str(exc), code=2)
        except UnicodeDecodeError as exc:
            # Rows before the bad byte may have gone in batches: re-sending changes nothing.
            fail(undecodable(file.name, encoding, exc), code=2)
        except ServiceError:
            stderr().print("[red]import stopped[/]: the batches sent before were committed")
            raise
    with errors_path.open("w", newline="") as out:
        write_error_report(totals.errors, out, target.key)
    _summarize(totals, time.perf_counter() - started, errors_path, target)
    if as_json:
        emit_json(totals.document())
    if totals.rejected:
        raise typer.Exit(1)


ErrorsOption = Annotated[
    Path | None, typer.Option(help="Per-row error report (default FILE.errors.csv).")
]
BatchOption = Annotated[
    int, typer.Option(min=1, max=BULK_MAX, help="Rows per request (one unit of work).")
]


@app.command("import-partners")
def import_partners(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="CSV of partners.")],
    errors: ErrorsOption = None,
    batch: BatchOption = 1000,
    url: UrlOption = None,
    token: TokenOption = None,
    as_json: JsonOption = False,
    encoding: EncodingOption = UTF8,
) -> None:
    """Import partners (SMK, companies, associations...) through POST /partners/import.

    Every row is checked with the rules of POST /partners; rows whose partner_id is
    registered already are skipped (re-sending a file changes nothing). Rejected rows go to
    the error report (row, partner_id, field, rule, message); exit 1 if there are any.
    Columns: see docs/registry.md (``ikm_cli/link_csv.py``).
    """
    run_import(file, errors, batch, url, token, as_json, PARTNER_TARGET, encoding)


@app.command("import-mous")
def import_mous(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="CSV of MoUs.")],
    errors: ErrorsOption = None,
    batch: BatchOption = 1000,
    url: UrlOption = None,
    token: TokenOption = None,
    as_json: JsonOption = False,
    encoding: EncodingOption = UTF8,
) -> None:
    """Import MoUs between registered partners through POST /mous/import (ministry token).

    Parties are named by partner id (``ministry:witness;smk-1;pt-astra``); a row with
    ``signed_on`` is imported signed. Rows already imported are skipped (re-sending a file
    changes nothing). Rejected rows go to the error report (row, mou_id, field, rule,
    message); exit 1 if there are any. Columns: see docs/registry.md.
    """
    run_import(file, errors, batch, url, token, as_json, MOU_TARGET, encoding)
