"""Where ``ikm audit replay`` gets the outboxes' stream heads from.

In order: ``--service URL`` (repeatable) and ``--store SERVICE`` (offline: the service's
own store, ``MONGODB_URL`` else ``IKM_DATA_DIR/<service>.db``); else ``IKM_AUDIT_SERVICES``
(comma-separated URLs); else the running dev stack's services when the log audited is
the dev stack's. With none of them the audit refuses to run unless ``--log-only`` says
so: a log audited alone cannot show that events are missing from it.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass, field

from rich.console import Console
from rich.table import Table

from ikm_cli.audit_rebuild import SERVICES, load_definition
from ikm_cli.state import STATE_FILE, read_state
from ikm_cli.tokens import issue_token
from ikmkit.audit.heads import HeadsUnavailable, OutboxHeads, fetch_heads, head_pages
from ikmkit.audit.published import PublishedSummary
from ikmkit.store.resolve import store_for

SERVICES_ENV = "IKM_AUDIT_SERVICES"
TOKEN_ENV = "IKM_AUDIT_TOKEN"


class NoHeadsSource(Exception):
    pass


@dataclass(frozen=True)
class HeadsSources:
    urls: list[str] = field(default_factory=list)
    stores: list[str] = field(default_factory=list)


def resolve_sources(urls: list[str], stores: list[str], kafka: str) -> HeadsSources:
    """The services to ask, by the rule in the module doc; ``NoHeadsSource`` if none."""
    for name in stores:
        if name not in SERVICES:
            raise NoHeadsSource(f"--store {name!r}: one of {', '.join(SERVICES)}")
    if urls or stores:
        return HeadsSources([_url(u) for u in urls], list(stores))
    if os.environ.get(SERVICES_ENV):
        return HeadsSources([_url(u) for u in os.environ[SERVICES_ENV].split(",") if u.strip()])
    state = read_state(STATE_FILE)
    if state and state.get("kafka") == kafka and state.get("services"):
        return HeadsSources(list(state["services"].values()))
    raise NoHeadsSource(
        "no services to compare the log with: give --service URL (repeatable) or --store "
        f"SERVICE, set {SERVICES_ENV}, or run the dev stack; --log-only checks the log alone "
        "(then events missing from the log cannot be detected)"
    )


def _url(value: str) -> str:
    # NAME=URL is accepted for readability; the service names itself in its answer.
    return value.partition("=")[2].strip() if "=" in value else value.strip()


def audit_token(explicit: str | None) -> str:
    """``--token``, else ``IKM_AUDIT_TOKEN``, else ``IKM_TOKEN``, else a short-lived service
    token signed with IKM_JWT_SECRET (the heads are the service role's to read)."""
    given = explicit or os.environ.get(TOKEN_ENV) or os.environ.get("IKM_TOKEN")
    return given or issue_token(subject="ikm-audit", role="service", ttl_seconds=900)


async def collect_heads(sources: HeadsSources, token: str, topics: list[str] | None) -> OutboxHeads:
    """Every stream head of every source; ``HeadsUnavailable`` if one does not answer."""
    heads = OutboxHeads()
    topic = topics[0] if topics and len(topics) == 1 else None
    answers = await asyncio.gather(*(fetch_heads(url, token, topic=topic) for url in sources.urls))
    for url, (service, produces, streams) in zip(sources.urls, answers, strict=True):
        heads.add(service, url, produces, streams)
    for name in sources.stores:
        await _add_from_store(heads, name, topic)
    return heads


async def _add_from_store(heads: OutboxHeads, service: str, topic: str | None) -> None:
    definition = load_definition(service)
    settings = definition.settings
    live = store_for(
        service, mongodb_url=settings.mongodb_url, data_dir=settings.data_dir, migrate=False
    )
    where = f"MongoDB ikm_{service}" if settings.mongodb_url else str(settings.data_dir)
    if not settings.mongodb_url and not (settings.data_dir / f"{service}.db").exists():
        hint = "set IKM_DATA_DIR or MONGODB_URL"
        raise HeadsUnavailable(f"no store of {service} in {where} ({hint})")
    try:
        await live.open(definition.store_collections())
        async for page in head_pages(live, topic=topic):  # page by page: no list of them all
            heads.add(service, f"store {where}", definition.produces, page)
    except Exception as exc:
        raise HeadsUnavailable(f"store of {service} ({where}): {exc!r}") from exc
    finally:
        await live.close()


def print_published(out: Console, summary: PublishedSummary | None) -> None:
    """The log against the outboxes, per topic, and what to do when events are missing."""
    if summary is None:
        out.print("[yellow]log only: not compared with the outboxes (--log-only)")
        return
    table = Table(title=f"log vs outboxes ({summary.streams:,} streams)")
    for column in ("topic", "published", "on the log", "missing", "unsent"):
        table.add_column(column, justify="left" if column == "topic" else "right")
    for topic, row in summary.as_json()["by_topic"].items():
        missing = f"[red]{row['missing']:,}" if row["missing"] else "0"
        table.add_row(
            topic, f"{row['published']:,}", f"{row['on_log']:,}", missing, f"{row['unsent']:,}"
        )
    out.print(table)
    if summary.missing_total:
        topics = [t for t in summary.topics if summary.missing[t]]
        out.print(
            f"[bold red]THE LOG IS MISSING {summary.missing_total:,} EVENTS[/] that the outboxes "
            f"say were published, on {', '.join(topics)}. Republish them from the outboxes "
            "(see docs/operations.md, 'The log is missing events') and audit again."
        )
