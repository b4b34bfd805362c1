"""``ikm notify dead redrive`` with more ids than one request may hold (the API refuses more
than 1,000 with a 422), against the real notify service: the ids go in batches the API
accepts, each once, with one summary; a refused batch says what the earlier ones redrove.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner, Result

from ikm_cli.main import app as ikm_app
from ikmdev.infra import free_port
from ikmkit.messaging.inbox import INBOX_COLLECTIONS
from ikmkit.messaging.outbox import OUTBOX_COLLECTIONS, Outbox
from ikmkit.service.runtime import create_service_app
from ikmkit.store.sqlite import SqliteStore
from ikmkit.unit_of_work import Units
from services.notify.domain.model import Notification
from services.notify.main import definition
from services.notify.settings import NotifySettings
from services.notify.store import COLLECTIONS, NotifyUnit
from tests.support.notify_dead import dead_email
from tests.support.served import serve

DEAD = 2345  # three requests
DELIVERED = DEAD  # the one after the dead ones: not dead, so its request is refused


def seed(path: Path, notifications: list[Notification]) -> None:
    async def add() -> None:
        store = SqliteStore(path)
        await store.open([*COLLECTIONS, *OUTBOX_COLLECTIONS, *INBOX_COLLECTIONS])
        try:
            async with Units(store, Outbox("urn:ikm:test"), NotifyUnit).open() as uow:
                await uow.notifications.add_many(notifications)
        finally:
            await store.close()

    asyncio.run(add())


@pytest.fixture
def notify_url(kafka: str, tmp_path: Path) -> Iterator[str]:
    path = tmp_path / "notify.db"
    seed(path, [*(dead_email(i) for i in range(DEAD)), dead_email(DELIVERED, "delivered")])
    # SMTP nowhere and retries far off: what was redriven stays pending while it is checked.
    settings = NotifySettings(
        kafka_bootstrap_servers=kafka, smtp_port=free_port(), retry_base_seconds=600
    )
    with serve(create_service_app(definition(settings, store=SqliteStore(path)))) as url:
        ready(url)
        yield url


def ready(url: str, timeout: float = 60) -> None:
    """The service answers (its start joins the broker's consumer group: often beyond the
    10 s ``serve`` waits for)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{url}/readyz", timeout=5).status_code == 200:
                return
        time.sleep(0.1)
    raise AssertionError(f"notify at {url} not ready in {timeout} s")


def ikm(*args: str) -> Result:
    return CliRunner().invoke(ikm_app, list(args))


def test_ids_beyond_one_request_go_in_batches_each_once(notify_url: str, tmp_path: Path) -> None:
    ids = [dead_email(i).id for i in range(DEAD)]
    listed = tmp_path / "dead.txt"  # as `ikm notify dead list --json | jq -r '.[].id'` writes
    listed.write_text("\n".join([*ids[5:], ids[1500], ""]))
    named = ids[:10]  # also named on the command line: each once
    result = ikm(
        "notify", "dead", "redrive", *named, "--file", str(listed), "--url", notify_url, "--json"
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"redriven": ids, "count": DEAD}
    again = ikm("notify", "dead", "list", "--url", notify_url, "--json")
    assert json.loads(again.stdout) == []


def test_a_refused_batch_says_what_the_earlier_ones_redrove(notify_url: str) -> None:
    ids = [dead_email(i).id for i in range(1000, DEAD)] + [dead_email(DELIVERED).id]
    result = ikm("notify", "dead", "redrive", *ids, "--url", notify_url, "--json")
    assert result.exit_code == 1, result.output
    assert json.loads(result.stdout) == {"redriven": ids[:1000], "count": 1000}
    assert "ids[345] [invalid.not_dead]" in result.stderr
    assert "ids 1001-1346" in result.stderr
    assert "1000 of 1346 were redriven before it" in result.stderr
    left = ikm("notify", "dead", "list", "--url", notify_url, "--json", "--limit", "5000")
    assert {d["id"] for d in json.loads(left.stdout)} == {
        dead_email(i).id for i in [*range(1000), *range(2000, DEAD)]
    }
