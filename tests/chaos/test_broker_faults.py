"""The embedded broker's log disappears mid-load (`kill -9` of Tansu, or `ikm dev down` then
`ikm dev up` in the same folder). The stores survive; the in-memory log does not. The
outboxes are the durable record: every acknowledged registration must be back on its topic
and applied downstream exactly once.

These depend on the outbox relay noticing that the broker lost its log and publishing again
(branch ``relay``): without it they fail with ``lost > 0``, which is the bug they prove.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.chaos.conftest import FaultReport
from tests.chaos.harness import DevStack, Load, register, settle, when
from tests.chaos.test_process_faults import check
from tests.integration.test_registry_api import new_nib

REGISTRATIONS = 300


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[DevStack]:
    running = DevStack(tmp_path)
    running.up()
    yield running
    running.down()


async def test_broker_killed_mid_load_comes_back_on_the_same_port_and_loses_nothing(
    stack: DevStack, fault_report: FaultReport
) -> None:
    before = stack.status()
    services = before["pids"]
    load = Load()
    nibs = [new_nib() for _ in range(REGISTRATIONS)]
    running = asyncio.create_task(register(lambda: before["services"]["registry"], nibs, load))
    await when(lambda: len(load.acknowledged) >= REGISTRATIONS // 3)
    killed, at = stack.kill("broker"), time.monotonic()
    entry = await stack.restarted("broker", killed)
    await running
    after = stack.status()
    assert entry["restarts"] == 1
    assert after["kafka"] == before["kafka"], "services reconnect to the bootstrap they know"
    assert after["pids"] == services, "a broker crash takes no service down"
    assert load.acknowledged_after(at) > 0, "the load went on across the broker's restart"
    check(await settle(stack, load, timeout=90), fault_report, "kill -9 broker mid-load")


async def test_down_then_up_in_the_same_folder_loses_nothing(
    stack: DevStack, fault_report: FaultReport
) -> None:
    urls = dict(stack.status()["services"])
    load = Load()
    nibs = [new_nib() for _ in range(REGISTRATIONS)]
    # the client keeps retrying while the stack is down, against wherever the registry is now;
    # paced so that the load outlasts `ikm dev down` (which serves the requests in flight)
    running = asyncio.create_task(
        register(lambda: urls["registry"], nibs, load, rate=25, retry_for=120)
    )
    await when(lambda: len(load.acknowledged) >= REGISTRATIONS // 3)
    await asyncio.to_thread(stack.down)
    at = time.monotonic()
    urls.update((await asyncio.to_thread(stack.up))["services"])
    await running
    assert load.acknowledged_after(at) > 0, "the load went on after the new `up`"
    check(await settle(stack, load, timeout=90), fault_report, "ikm dev down, then up")
