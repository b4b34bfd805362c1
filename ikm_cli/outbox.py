"""``ikm outbox``: operate a service's outbox through its ``/ops/outbox`` endpoints.

Target: ``--url``, else ``IKM_<SERVICE>_URL`` / ``IKM_URL``, else ``--service`` looked up in
the running dev stack; token: see ``ikm_cli/client.py``.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from ikm_cli.client import TokenOption, UrlOption, connect
from ikm_cli.output import JsonOption, emit

app = typer.Typer(
    help="Outbox operations: parked events, republishing a lost topic.", no_args_is_help=True
)

ServiceOption = Annotated[
    str | None,
    typer.Option(help="The service (registry, subsidy, ...) when no URL is given."),
]


def _call(
    method: str, path: str, *, url: str | None, service: str | None, token: str | None,
    params: dict[str, Any] | None = None,
) -> Any:  # fmt: skip
    with connect(service, url, token) as client:
        return client.call(method, path, params=params)


def _say(text: str) -> Any:
    return lambda: typer.echo(text)


@app.command()
def status(
    url: UrlOption = None, service: ServiceOption = None, token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:  # fmt: skip
    """Backlog, parked events and the relay's last log check."""
    data = _call("GET", "/ops/outbox", url=url, service=service, token=token)
    check = data["last_log_check"]
    log_state = "not checked yet" if check is None else ("intact" if check["clean"] else check)
    text = (
        f"{data['service']}: {data['pending']} pending (oldest "
        f"{data['oldest_pending_age_seconds']}s), {data['parked']} parked; log {log_state}"
    )
    emit(data, as_json, _say(text))


@app.command()
def parked(
    url: UrlOption = None, service: ServiceOption = None, token: TokenOption = None,
    as_json: JsonOption = False,
    limit: Annotated[int, typer.Option(min=1, help="At most this many.")] = 100,
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
    emit(data["items"], as_json, _say("\n".join(lines) or "no parked events"))


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
    text = (
        f"published {event_id} at partition {data['partition']} offset {data['offset']}; "
        f"{data['released']} held events released"
    )
    emit(data, as_json, _say(text))


@app.command()
def republish(
    topic: Annotated[str, typer.Option(help="Topic to publish again from the outbox.")],
    partition: Annotated[
        list[int] | None, typer.Option(help="Only these partitions (repeatable).")
    ] = None,
    url: UrlOption = None, service: ServiceOption = None, token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:  # fmt: skip
    """Publish a topic's events again (e.g. after it was deleted); consumers deduplicate.
    Without --url or --service, a domain topic's owner (the only service holding its events)."""
    if url is None and service is None:
        from contracts.catalog import owner_of  # only here: the CLI starts without the catalog

        service = owner_of(topic)
    params: dict[str, Any] = {"topic": topic}
    if partition:
        params["partition"] = partition
    data = _call(
        "POST", "/ops/outbox/republish", url=url, service=service, token=token, params=params
    )
    emit(data, as_json, _say(f"republishing {data['republishing']} events of {topic}"))


@app.command()
def verify(
    url: UrlOption = None, service: ServiceOption = None, token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:  # fmt: skip
    """Check now that the log holds what was published; lost partitions are republished."""
    data = _call("POST", "/ops/outbox/verify", url=url, service=service, token=token)
    text = "log intact" if data["clean"] else f"log lost records, republishing: {data}"
    emit(data, as_json, _say(text))
