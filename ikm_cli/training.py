"""``ikm training`` commands: they talk to the training service's HTTP API (it owns its store).

The service URL comes from ``--url``, else ``IKM_TRAINING_URL``, else the running dev stack
(``ikm dev status``); the token from ``--token``, else ``IKM_TOKEN``, else a development
ministry token signed with ``IKM_JWT_SECRET``.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from ikm_cli.dev import STATE_FILE
from ikmkit.auth import issue_token
from ikmkit.service.settings import DEV_JWT_SECRET

app = typer.Typer(help="training commands.", no_args_is_help=True)
console = Console(stderr=True)

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
UrlOption = Annotated[str | None, typer.Option(help="Training service URL.")]
TokenOption = Annotated[str | None, typer.Option(help="Bearer token.")]


def _url(url: str | None) -> str:
    if url or os.environ.get("IKM_TRAINING_URL"):
        return (url or os.environ["IKM_TRAINING_URL"]).rstrip("/")
    if STATE_FILE.exists():
        return str(json.loads(STATE_FILE.read_text())["services"]["training"])
    raise typer.BadParameter(
        "no --url, no IKM_TRAINING_URL and no dev stack running", param_hint="--url"
    )


def _token(token: str | None) -> str:
    if token or os.environ.get("IKM_TOKEN"):
        return token or os.environ["IKM_TOKEN"]
    secret = os.environ.get("IKM_JWT_SECRET", DEV_JWT_SECRET)
    return issue_token(secret, subject="ikm-cli", role="ministry")


def read_participants(path: Path) -> Iterator[dict[str, Any]]:
    """CSV rows -> participant objects; empty cells are left out (defaults apply)."""
    with path.open(newline="", encoding="utf-8-sig") as handle:
        for row in csv.DictReader(handle):
            yield {k: v.strip() for k, v in row.items() if k in CSV_COLUMNS and v and v.strip()}


def _chunks(rows: list[dict[str, Any]], size: int) -> Iterator[tuple[int, list[dict[str, Any]]]]:
    for start in range(0, len(rows), size):
        yield start, rows[start : start + size]


@app.command()
def enroll(
    course: Annotated[str, typer.Argument(help="Course id.")],
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="Participants CSV.")],
    url: UrlOption = None,
    token: TokenOption = None,
    batch: Annotated[int, typer.Option(help="Participants per request.")] = 1000,
    errors: Annotated[
        Path | None, typer.Option(help="Write refused rows here (CSV); default FILE.errors.csv.")
    ] = None,
) -> None:
    """Bulk-enroll participants from a CSV (columns: name, email, kind, nib, province, country,
    preferred_language, external_id). Refused rows go to an error report with the field and
    the rule; the others are enrolled or waitlisted."""
    rows = list(read_participants(file))
    refused: list[dict[str, Any]] = []
    totals = {"enrolled": 0, "waitlisted": 0}
    columns = (
        TextColumn("[bold]enrolling"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("rows"),
        TimeElapsedColumn(),
    )
    headers = {"Authorization": f"Bearer {_token(token)}"}
    with (
        httpx.Client(base_url=_url(url), headers=headers, timeout=300) as client,
        Progress(*columns, console=console) as progress,
    ):
        task = progress.add_task("enroll", total=len(rows))
        for start, chunk in _chunks(rows, batch):
            response = client.post(
                f"/courses/{course}/enrollments/bulk", json={"participants": chunk}
            )
            if response.status_code != 200:
                console.print(f"[red]refused: {response.status_code} {response.text}")
                raise typer.Exit(1)
            outcome = response.json()
            totals["enrolled"] += outcome["enrolled"]
            totals["waitlisted"] += outcome["waitlisted"]
            for error in outcome["errors"]:
                # +1 for the header line: the row number as a spreadsheet shows it.
                refused.append({**error, "row": start + int(error["row"]) + 1})
            progress.advance(task, len(chunk))
    _report(file, errors, refused, totals)


def _report(
    file: Path, errors: Path | None, refused: list[dict[str, Any]], totals: dict[str, int]
) -> None:
    console.print(
        f"enrolled {totals['enrolled']}, waitlisted {totals['waitlisted']}, refused {len(refused)}"
    )
    if not refused:
        return
    target = errors or file.with_suffix(".errors.csv")
    with target.open("w", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=["row", "field", "rule", "message"])
        writer.writeheader()
        writer.writerows(refused)
    table = Table("row", "field", "rule", "message", title=f"refused rows (all in {target})")
    for error in refused[:20]:
        table.add_row(
            str(error["row"]), error["field"] or "", error["rule"] or "", error["message"]
        )
    console.print(table)
    raise typer.Exit(2)


@app.command()
def stats(
    url: UrlOption = None,
    token: TokenOption = None,
    province: Annotated[
        str | None, typer.Option(help="One province's figures (a regional token gets its own).")
    ] = None,
) -> None:
    """Print the training statistics (courses, participants, completions, certificates)."""
    headers = {"Authorization": f"Bearer {_token(token)}"}
    params = {"province": province} if province else {}
    response = httpx.get(f"{_url(url)}/stats", headers=headers, params=params, timeout=60)
    if response.status_code != 200:
        console.print(f"[red]refused: {response.status_code} {response.text}")
        raise typer.Exit(1)
    print(json.dumps(response.json(), indent=2))


@app.command()
def verify(number: str, url: UrlOption = None, token: TokenOption = None) -> None:
    """Check a certificate number."""
    headers = {"Authorization": f"Bearer {_token(token)}"}
    response = httpx.get(f"{_url(url)}/certificates/{number}", headers=headers, timeout=30)
    print(json.dumps(response.json(), indent=2))
    if response.status_code != 200 or not response.json().get("genuine"):
        raise typer.Exit(1)
