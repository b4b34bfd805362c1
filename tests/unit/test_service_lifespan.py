"""What a service process does around its life: the outbox gauges kept current, and a stop
that no hung client can hold up."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest

from contracts.registry import EnterpriseVerified
from ikmkit.messaging.outbox_metrics import watch_outbox
from ikmkit.service import lifespan
from ikmkit.telemetry import metrics
from ikmkit.unit_of_work import UnitOfWork, Units
from tests.support.units import memory_units


def gauge(family: Any, service: str) -> float:
    return float(family.labels(service)._value.get())


async def test_the_outbox_gauges_count_what_is_waiting_to_be_relayed() -> None:
    async with memory_units(UnitOfWork) as units:
        await record_two(units)
        watcher = asyncio.create_task(watch_outbox(units.store, "svc-gauges", interval=0.01))
        try:
            for _ in range(200):
                if gauge(metrics.OUTBOX_BACKLOG, "svc-gauges") == 2:
                    break
                await asyncio.sleep(0.01)
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
    assert gauge(metrics.OUTBOX_BACKLOG, "svc-gauges") == 2
    assert gauge(metrics.OUTBOX_OLDEST_AGE, "svc-gauges") >= 0


async def record_two(units: Units[UnitOfWork]) -> None:
    async def handler(uow: UnitOfWork) -> None:
        at = datetime(2026, 3, 1, tzinfo=UTC)
        for nib in ("1000000000001", "1000000000002"):
            uow.record(EnterpriseVerified(nib=nib, province="34", verified_by="o", verified_at=at))

    await units.run(handler)


async def test_a_hung_client_does_not_keep_the_process_from_stopping(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(lifespan, "STOP_STEP_SECONDS", 0.05)
    stopped: list[str] = []

    def step(name: str, hangs: bool = False) -> Any:
        async def stop() -> None:
            if hangs:
                await asyncio.Event().wait()
            stopped.append(name)

        return stop

    runtime: Any = SimpleNamespace(
        broker=SimpleNamespace(stop=step("broker", hangs=True)),
        relay=SimpleNamespace(stop=step("relay")),
        publisher=SimpleNamespace(stop=step("publisher")),
        store=SimpleNamespace(close=step("store")),
    )
    forever = asyncio.create_task(asyncio.Event().wait())
    await asyncio.wait_for(lifespan._stop(runtime, [forever]), 2)
    assert forever.cancelled()
    assert stopped == ["relay", "publisher", "store"]
