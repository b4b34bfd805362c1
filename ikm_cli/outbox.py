"""``ikm outbox``: operate a service's outbox through its ``/ops/outbox`` endpoints.

A thin HTTP client. The service URL comes from ``--url``, else ``IKM_URL``, else
``--service`` looked up in the running dev stack; the token from ``--token``,
else ``IKM_TOKEN``, else a development ministry token signed with ``IKM_JWT_SECRET``.
"""

from __future__ import annotations

import json
import os
from typing import Annotated, Any

import typer

app = typer.Typer(
    help="Outbox operations: parked events, republishing a lost topic.", no_args_is_help=True
)

UrlOption = Annotated[str | None, typer.Option(help="Service URL (else IKM_URL).")]
ServiceOption = Annotated[
    str | None, typer.Option(help="Service of the running dev stack, when no URL is given.")
]
TokenOption = Annotated[str | None, typer.Option(help="Bearer token (else IKM_TOKEN).")]
JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]


def _url(url: str | None, service: str | None) -> str:
    if url or os.environ.get("IKM_URL"):
        return (url or os.environ["IKM_URL"]).rstrip("/")
    if service:
        from ikm_cli.dev import STATE_FILE

        if STATE_FILE.exists():
            services: dict[str, str] = json.loads(STATE_FILE.read_text())["services"]
            if service in services:
                return services[service].rstrip("/")
    raise typer.BadParameter(
        "give --url (or IKM_URL), or --service with a dev stack running", param_hint="--url"
    )


def _token(token: str | None) -> str:
    if token or os.environ.get("IKM_TOKEN"):
        return token or os.environ["IKM_TOKEN"]
    from ikmkit.auth import issue_token
    from ikmkit.service.settings import DEV_JWT_SECRET

    secret = os.environ.get("IKM_JWT_SECRET", DEV_JWT_SECRET)
    return issue_token(secret, subject="ikm-cli", role="ministry")


def _call(
    method: str,
    path: str,
    *,
    url: str | None,
    service: str | None,
    token: str | None,
    params: dict[str, Any] | None = None,
) -> Any:
    import httpx

    target = f"{_url(url, service)}{path}"
    try:
        response = httpx.request(
            method,
            target,
            params=params,
            headers={"Authorization": f"Bearer {_token(token)}"},
            timeout=60,
        )
    except httpx.HTTPError as exc:
        typer.echo(f"cannot reach {target}: {type(exc).__name__}", err=True)
        raise typer.Exit(1) from exc
    if response.status_code >= 400:
        typer.echo(f"{response.status_code} {_message(response.text)}", err=True)
        raise typer.Exit(1)
    return response.json()


def _message(body: str) -> str:
    try:
        detail = json.loads(body)["detail"]
        return "; ".join(d["msg"] for d in detail) if isinstance(detail, list) else str(detail)
    except (ValueError, KeyError, TypeError):
        return body


def _print(data: Any, as_json: bool, text: str) -> None:
    typer.echo(json.dumps(data, indent=2) if as_json else text)


@app.command()
def status(
    url: UrlOption = None, service: ServiceOption = None, token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:  # fmt: skip
    """Backlog, parked events and the relay's last log check."""
    data = _call("GET", "/ops/outbox", url=url, service=service, token=token)
    check = data["last_log_check"]
    log_state = "not checked yet" if check is None else ("intact" if check["clean"] else check)
    _print(
        data,
        as_json,
        f"{data['service']}: {data['pending']} pending (oldest "
        f"{data['oldest_pending_age_seconds']}s), {data['parked']} parked; log {log_state}",
    )


@app.command()
def parked(
    url: UrlOption = None, service: ServiceOption = None, token: TokenOption = None,
    as_json: JsonOption = False,
    limit: Annotated[int, typer.Option(help="At most this many.")] = 100,
) -> None:  # fmt: skip
    """List parked events: id, stream, size, reason, and how many events wait behind each."""
    data = _call(
        "GET", "/ops/outbox/parked", url=url, service=service, token=token, params={"limit": limit}
    )
    lines = [
        f"{p['id']}  {p['topic']} key={p['key']} seq={p['sequence']} {p['size_bytes']} bytes, "
        f"{p['held_behind']} held behind, parked {p['parked_at']}: {p['reason']}"
        for p in data["items"]
    ]
    _print(data["items"], as_json, "\n".join(lines) or "no parked events")


@app.command()
def retry(
    event_id: Annotated[str, typer.Argument(help="Id of the parked event.")],
    force: Annotated[
        bool, typer.Option(help="Skip the service's own size check; the broker decides.")
    ] = False,
    url: UrlOption = None, service: ServiceOption = None, token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:  # fmt: skip
    """Publish a parked event now; on success the events held behind it follow."""
    data = _call(
        "POST", f"/ops/outbox/parked/{event_id}/retry", url=url, service=service, token=token,
        params={"force": str(force).lower()},
    )  # fmt: skip
    _print(
        data,
        as_json,
        f"published {event_id} at partition {data['partition']} offset {data['offset']}; "
        f"{data['released']} held events released",
    )


@app.command()
def republish(
    topic: Annotated[str, typer.Option(help="Topic to publish again from the outbox.")],
    partition: Annotated[
        list[int] | None, typer.Option(help="Only these partitions (repeatable).")
    ] = None,
    url: UrlOption = None, service: ServiceOption = None, token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:  # fmt: skip
    """Publish a topic's events again (e.g. after it was deleted); consumers deduplicate."""
    params: dict[str, Any] = {"topic": topic}
    if partition:
        params["partition"] = partition
    data = _call(
        "POST", "/ops/outbox/republish", url=url, service=service, token=token, params=params
    )
    _print(data, as_json, f"republishing {data['republishing']} events of {topic}")


@app.command()
def verify(
    url: UrlOption = None, service: ServiceOption = None, token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:  # fmt: skip
    """Check now that the log holds what was published; lost partitions are republished."""
    data = _call("POST", "/ops/outbox/verify", url=url, service=service, token=token)
    text = "log intact" if data["clean"] else f"log lost records, republishing: {data}"
    _print(data, as_json, text)
