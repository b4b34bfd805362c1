"""``ikm notify`` commands: clients of the notify service's HTTP API (it owns its store).

Target and token: see ``ikm_cli/client.py`` (``--url``, ``IKM_NOTIFY_URL``, ``IKM_URL``,
the dev stack; ``--token``, ``IKM_TOKEN``, a development ministry token).
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from ikm_cli.client import ServiceClient, ServiceError, TokenOption, UrlOption, connect
from ikm_cli.output import JsonOption, emit, stdout
from ikmkit.service.limits import IDS_MAX

app = typer.Typer(help="notify commands: dead notifications, deliveries.", no_args_is_help=True)
dead_app = typer.Typer(help="Notifications that exhausted their retries.", no_args_is_help=True)
app.add_typer(dead_app, name="dead")


def _dead_items(client: ServiceClient, limit: int) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    while len(items) < limit:
        params: dict[str, Any] = {"limit": min(500, limit - len(items))}
        if cursor:
            params["cursor"] = cursor
        page = client.call("GET", "/dead", params=params)
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    return items


@dead_app.command("list")
def dead_list(
    url: UrlOption = None,
    token: TokenOption = None,
    as_json: JsonOption = False,
    limit: Annotated[int, typer.Option(min=1, help="At most this many.")] = 100,
) -> None:
    """List dead notifications with their last error."""
    with connect("notify", url, token, timeout=30) as client:
        items = _dead_items(client, limit)
    emit(items, as_json, lambda: _show_dead(items))


def _show_dead(items: list[dict[str, Any]]) -> None:
    table = Table(title=f"{len(items)} dead notification(s)")
    for column in ("id", "event", "recipient", "channel", "attempts", "redrives", "last error"):
        table.add_column(column, overflow="fold")
    for d in items:
        table.add_row(
            d["id"],
            d["event_type"],
            d["recipient"],
            d["channel"],
            str(d["attempts"]),
            str(d["redrives"]),
            (d["last_error"] or "")[:120],
        )
    stdout().print(table)


@dead_app.command("redrive")
def dead_redrive(
    ids: Annotated[list[str] | None, typer.Argument(help="Notification ids to send again.")] = None,
    all_dead: Annotated[bool, typer.Option("--all", help="Every dead notification.")] = False,
    ids_file: Annotated[
        typer.FileText | None,
        typer.Option("--file", help="Ids to send again, one a line ('-': standard input)."),
    ] = None,
    url: UrlOption = None,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Send dead notifications again (each redrive is recorded in the delivery ledger).

    Any number of ids (IDS and --file's): they go in requests of at most 1,000 (the API's
    limit), each id once, each request its own unit of work; a refused request stops there,
    and what the earlier ones redrove is shown.
    """
    ids = [*(ids or []), *(line.strip() for line in ids_file or () if line.strip())]
    if bool(ids) == all_dead:
        raise typer.BadParameter("give notification ids or --all, not both", param_hint="IDS")
    with connect("notify", url, token, timeout=30) as client:
        if all_dead:
            result = client.call("POST", "/dead/redrive", json={"all": True})
        else:
            result, refused = _redrive_in_batches(client, list(dict.fromkeys(ids)))
            if refused is not None:  # what the earlier requests redrove stays redriven
                emit(result, as_json, lambda: _show_redriven(result))
                raise refused
    emit(result, as_json, lambda: _show_redriven(result))


def _redrive_in_batches(
    client: ServiceClient, ids: list[str]
) -> tuple[dict[str, Any], ServiceError | None]:
    """``ids`` (each once) in requests the API accepts, up to the first refused one."""
    redriven: list[str] = []
    for start in range(0, len(ids), IDS_MAX):
        end = min(start + IDS_MAX, len(ids))
        try:
            answer = client.call("POST", "/dead/redrive", json={"ids": ids[start:end]})
        except ServiceError as exc:
            if not redriven:
                raise
            why = (
                f"{exc} (the request of ids {start + 1}-{end}, its ids[0] being id {start + 1}"
                f" of those given; {len(redriven)} of {len(ids)} were redriven before it, listed on"
                " stdout; the rest were not sent)"
            )
            return {"redriven": redriven, "count": len(redriven)}, ServiceError(exc.status, why)
        redriven += answer["redriven"]
    return {"redriven": redriven, "count": len(redriven)}, None


def _show_redriven(result: dict[str, Any]) -> None:
    out = stdout()
    out.print(f"redriven: {result['count']}")
    for notification_id in result["redriven"]:
        out.print(f"  {notification_id}")


@app.command()
def deliveries(
    event_id: Annotated[str, typer.Argument(help="The id (ce_id) of the event.")],
    url: UrlOption = None,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Who was told about an event, on which channel, and every attempt."""
    with connect("notify", url, token, timeout=30) as client:
        report = client.call("GET", "/deliveries", params={"event_id": event_id})
    emit(report, as_json, lambda: _show_deliveries(report))


def _show_deliveries(report: dict[str, Any]) -> None:
    out = stdout()
    out.print(f"[bold]{report['summary']}[/] (pending {report['pending']}, dead {report['dead']})")
    table = Table()
    for column in ("recipient", "channel", "target", "status", "attempts", "last error"):
        table.add_column(column, overflow="fold")
    for n in report["notifications"]:
        table.add_row(
            n["recipient"],
            n["channel"],
            n["target"] or "",
            n["status"],
            str(n["attempts"]),
            (n["last_error"] or "")[:80],
        )
    out.print(table)
