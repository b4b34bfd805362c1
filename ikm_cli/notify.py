"""``ikm notify`` commands: they talk to the notify service's HTTP API (it owns its store).

The service URL comes from ``--url``, else ``IKM_NOTIFY_URL``, else the running dev stack
(``ikm dev status``); the token from ``--token``, else ``IKM_TOKEN``, else a development
ministry token signed with ``IKM_JWT_SECRET``.
"""

from __future__ import annotations

import json
import os
from typing import Annotated, Any

import httpx
import typer
from rich.console import Console
from rich.table import Table

from ikm_cli.dev import STATE_FILE
from ikmkit.auth import issue_token
from ikmkit.service.settings import DEV_JWT_SECRET

app = typer.Typer(help="notify commands: dead notifications, deliveries.", no_args_is_help=True)
dead_app = typer.Typer(help="Notifications that exhausted their retries.", no_args_is_help=True)
app.add_typer(dead_app, name="dead")
console = Console()
errors = Console(stderr=True)

UrlOption = Annotated[str | None, typer.Option(help="Notify service URL.")]
TokenOption = Annotated[str | None, typer.Option(help="Bearer token.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]


def _url(url: str | None) -> str:
    if url or os.environ.get("IKM_NOTIFY_URL"):
        return (url or os.environ["IKM_NOTIFY_URL"]).rstrip("/")
    if STATE_FILE.exists():
        return str(json.loads(STATE_FILE.read_text())["services"]["notify"])
    raise typer.BadParameter(
        "no --url, no IKM_NOTIFY_URL and no dev stack running", param_hint="--url"
    )


def _token(token: str | None) -> str:
    if token or os.environ.get("IKM_TOKEN"):
        return token or os.environ["IKM_TOKEN"]
    secret = os.environ.get("IKM_JWT_SECRET", DEV_JWT_SECRET)
    return issue_token(secret, subject="ikm-cli", role="ministry")


def _call(method: str, url: str | None, token: str | None, path: str, **kwargs: Any) -> Any:
    target = f"{_url(url)}{path}"
    try:
        response = httpx.request(
            method,
            target,
            headers={"Authorization": f"Bearer {_token(token)}"},
            timeout=30,
            **kwargs,
        )
    except httpx.HTTPError as exc:
        errors.print(f"[red]cannot reach notify at {target}[/]: {type(exc).__name__}")
        raise typer.Exit(1) from exc
    if response.status_code >= 400:
        errors.print(f"[red]{response.status_code}[/] {response.text}")
        raise typer.Exit(1)
    return response.json()


@dead_app.command("list")
def dead_list(
    url: UrlOption = None,
    token: TokenOption = None,
    as_json: JsonOption = False,
    limit: Annotated[int, typer.Option(help="At most this many.")] = 100,
) -> None:
    """List dead notifications with their last error."""
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    while len(items) < limit:
        params: dict[str, Any] = {"limit": min(500, limit - len(items))}
        if cursor:
            params["cursor"] = cursor
        page = _call("GET", url, token, "/dead", params=params)
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    if as_json:
        print(json.dumps(items, indent=2))
        return
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
    console.print(table)


@dead_app.command("redrive")
def dead_redrive(
    ids: Annotated[list[str] | None, typer.Argument(help="Notification ids to send again.")] = None,
    all_dead: Annotated[bool, typer.Option("--all", help="Every dead notification.")] = False,
    url: UrlOption = None,
    token: TokenOption = None,
) -> None:
    """Send dead notifications again (each redrive is recorded in the delivery ledger)."""
    if bool(ids) == all_dead:
        raise typer.BadParameter("give notification ids or --all, not both", param_hint="IDS")
    body = {"all": True} if all_dead else {"ids": ids}
    result = _call("POST", url, token, "/dead/redrive", json=body)
    console.print(f"redriven: {result['count']}")
    for notification_id in result["redriven"]:
        console.print(f"  {notification_id}")


@app.command()
def deliveries(
    event_id: Annotated[str, typer.Argument(help="The id (ce_id) of the event.")],
    url: UrlOption = None,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Who was told about an event, on which channel, and every attempt."""
    report = _call("GET", url, token, "/deliveries", params={"event_id": event_id})
    if as_json:
        print(json.dumps(report, indent=2))
        return
    console.print(
        f"[bold]{report['summary']}[/] (pending {report['pending']}, dead {report['dead']})"
    )
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
    console.print(table)
