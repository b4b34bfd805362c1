"""``ikm training`` commands: clients of the training service's HTTP API (it owns its store).

Target and token: see ``ikm_cli/client.py`` (``--url``, ``IKM_TRAINING_URL``, ``IKM_URL``,
the dev stack; ``--token``, ``IKM_TOKEN``, a development ministry token).
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from ikm_cli.client import ServiceClient, TokenOption, UrlOption, connect
from ikm_cli.enterprise_csv import UTF8, EncodingOption, dict_reader, undecodable
from ikm_cli.output import JsonOption, emit_json, fail, stderr
from ikmkit import spreadsheet

app = typer.Typer(help="training commands.", no_args_is_help=True)

CSV_COLUMNS = (
    "name",
    "email",
    "kind",
    "nib",
    "province",
    "country",
    "preferred_language",
    "external_id",
)
REFUSED_COLUMNS = ["row", "field", "rule", "message"]


def read_participants(path: Path, encoding: str = UTF8) -> Iterator[dict[str, Any]]:
    """CSV rows -> participant objects; empty cells are left out (defaults apply). Cells are
    separated by ``,`` or ``;`` (Excel with Indonesian settings), as the header line shows."""
    with path.open(newline="", encoding=encoding) as handle:
        for row in dict_reader(handle, CSV_COLUMNS):
            yield {k: v.strip() for k, v in row.items() if k in CSV_COLUMNS and v and v.strip()}


def _chunks(rows: list[dict[str, Any]], size: int) -> Iterator[tuple[int, list[dict[str, Any]]]]:
    for start in range(0, len(rows), size):
        yield start, rows[start : start + size]


def _enroll_all(
    client: ServiceClient, course: str, rows: list[dict[str, Any]], batch: int
) -> dict[str, Any]:
    """Every participant sent in batches; the answers summed, refused rows numbered as in
    the file (the header is line 1, as a spreadsheet shows it)."""
    outcome: dict[str, Any] = {"enrolled": 0, "waitlisted": 0, "refused": []}
    columns = (
        TextColumn("[bold]enrolling"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("rows"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=stderr()) as progress:
        task = progress.add_task("enroll", total=len(rows))
        for start, chunk in _chunks(rows, batch):
            answer = client.call(
                "POST", f"/courses/{course}/enrollments/bulk", json={"participants": chunk}
            )
            outcome["enrolled"] += answer["enrolled"]
            outcome["waitlisted"] += answer["waitlisted"]
            for error in answer["errors"]:
                outcome["refused"].append({**error, "row": start + int(error["row"]) + 1})
            progress.advance(task, len(chunk))
    return outcome


@app.command()
def enroll(
    course: Annotated[str, typer.Argument(help="Course id.")],
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="Participants CSV.")],
    url: UrlOption = None,
    token: TokenOption = None,
    batch: Annotated[int, typer.Option(min=1, help="Participants per request.")] = 1000,
    errors: Annotated[
        Path | None, typer.Option(help="Write refused rows here (CSV); default FILE.errors.csv.")
    ] = None,
    as_json: JsonOption = False,
    encoding: EncodingOption = UTF8,
) -> None:
    """Bulk-enroll participants from a CSV (columns: name, email, kind, nib, province, country,
    preferred_language, external_id). Refused rows go to an error report with the field and
    the rule (exit 2); the others are enrolled or waitlisted. A file that is not text in its
    encoding (UTF-8 unless told) is named, nothing sent (exit 2)."""
    try:
        rows = list(read_participants(file, encoding))
    except UnicodeDecodeError as exc:
        fail(undecodable(file.name, encoding, exc), code=2)
    with connect("training", url, token, timeout=300) as client:
        outcome = _enroll_all(client, course, rows, batch)
    refused = outcome["refused"]
    stderr().print(
        f"enrolled {outcome['enrolled']}, waitlisted {outcome['waitlisted']}, "
        f"refused {len(refused)}",
        highlight=False,
    )
    target = errors or file.with_suffix(".errors.csv")
    if refused:
        _write_refused(target, refused)
    if as_json:
        emit_json(outcome)
    elif refused:
        _show_refused(target, refused)
    if refused:
        raise typer.Exit(2)


def _write_refused(target: Path, refused: list[dict[str, Any]]) -> None:
    with target.open("w", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=REFUSED_COLUMNS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(spreadsheet.record(r) for r in refused)


def _show_refused(target: Path, refused: list[dict[str, Any]]) -> None:
    table = Table(*REFUSED_COLUMNS, title=f"refused rows (all in {target})")
    for error in refused[:20]:
        table.add_row(
            str(error["row"]), error["field"] or "", error["rule"] or "", error["message"]
        )
    stderr().print(table)


@app.command()
def stats(
    url: UrlOption = None,
    token: TokenOption = None,
    province: Annotated[
        str | None, typer.Option(help="One province's figures (a regional token gets its own).")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """The training statistics (courses, participants, completions, certificates) as JSON."""
    params = {"province": province} if province else {}
    with connect("training", url, token) as client:
        figures = client.call("GET", "/stats", params=params)
    del as_json  # accepted as on every command: the figures are one JSON document either way
    emit_json(figures)


@app.command()
def verify(
    number: Annotated[str, typer.Argument(help="Certificate number.")],
    url: UrlOption = None,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Check a certificate number: its record as JSON; exit 1 unless it is genuine."""
    with connect("training", url, token, timeout=30) as client:
        record = client.call("GET", f"/certificates/{number}")
    del as_json  # the record is one JSON document either way
    emit_json(record)
    if not record.get("genuine"):
        raise typer.Exit(1)
