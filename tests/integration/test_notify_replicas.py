"""Notify runs as several replicas sharing one store (production: 3 to 12). Each replica's
dispatcher read the same due notifications and sent them, so an e-mail went out once per
replica that read it before the first had recorded its outcome. One dispatcher sends at a
time now, the holder of a lease in the store; another replica's takes over when it stops or
dies. Real SMTP server (aiosmtpd, taking its time per message as a busy relay does), the
replicas' store MongoDB over its wire protocol (a SQLite file serves one process: replicas
need a store server), two replicas' dispatchers."""

from __future__ import annotations

import asyncio
import contextlib
import re
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from ikmdev.infra import free_port
from ikmkit.messaging.outbox import Outbox
from ikmkit.store import Store
from ikmkit.store.mongo import MongoStore
from services.notify import handlers
from services.notify.bootstrap import Notify, bootstrap
from services.notify.main import definition
from services.notify.settings import NotifySettings
from tests.support.infra import MONGO_KIND
from tests.support.notify_dispatch import registered


class BusyRelay:
    """Takes a fifth of a second per message; keeps each message's notification id."""

    def __init__(self) -> None:
        self.ids: list[str] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        await asyncio.sleep(0.2)
        found = re.search(rb"X-IKM-Notification-Id: (\S+)", envelope.content)
        self.ids.append(found[1].decode() if found else "?")
        return "250 Message accepted"


@pytest.fixture
def relay() -> AsyncIterator[tuple[BusyRelay, int]]:
    handler = BusyRelay()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port(), ready_timeout=10)
    controller.start()
    yield handler, controller.port
    controller.stop()


def same_store(mongo_url: str) -> tuple[Store, Store]:
    """Two replicas' connections to one database."""
    name, serialize = f"test_{uuid.uuid4().hex[:12]}", MONGO_KIND["kind"] == "mongoeco"
    return (
        MongoStore(mongo_url, name, serialize_transactions=serialize),
        MongoStore(mongo_url, name, serialize_transactions=serialize),
    )


@contextlib.asynccontextmanager
async def replicas(stores: tuple[Store, Store], port: int) -> AsyncIterator[list[Notify]]:
    settings = NotifySettings(
        smtp_host="127.0.0.1",
        smtp_port=port,
        smtp_connections=2,
        dispatch_idle_seconds=0.05,
        dispatch_lease_seconds=1.0,
    )
    for store in stores:
        await store.open(definition(settings).store_collections())
    try:
        yield [bootstrap(store, Outbox("/ikm/notify"), settings) for store in stores]
    finally:
        for store in stores:
            await store.close()


async def notified(replica: Notify, first: int, count: int) -> None:
    events = [registered(i) for i in range(first, first + count)]
    await replica.units.run(handlers.notify_about, events, {}, replica.subscriptions)


async def sent(relay: BusyRelay, count: int) -> None:
    for _ in range(300):
        if len(relay.ids) >= count:
            await asyncio.sleep(1.0)  # anything sent twice arrives meanwhile
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{len(relay.ids)} of {count} e-mails within 15 s")


async def stopped(dispatching: asyncio.Task[None]) -> None:
    dispatching.cancel()
    await asyncio.gather(dispatching, return_exceptions=True)


async def test_replicas_send_each_email_once_and_one_takes_over_from_another(
    relay: tuple[BusyRelay, int], mongo_url: str
) -> None:
    busy, port = relay
    async with replicas(same_store(mongo_url), port) as (one, two):
        await notified(one, 0, 4)
        running = [asyncio.create_task(r.dispatcher.run()) for r in (one, two)]
        try:
            await sent(busy, 4)
            assert Counter(busy.ids).most_common(1)[0][1] == 1, Counter(busy.ids)
            # The replica sending stops; the other's dispatcher carries on.
            holder = 0 if one.dispatcher.attempted_total else 1
            await stopped(running[holder])
            await notified(one, 4, 3)
            await sent(busy, 7)
        finally:
            for task in running:
                await stopped(task)
    assert len(busy.ids) == 7 and len(set(busy.ids)) == 7, Counter(busy.ids)
