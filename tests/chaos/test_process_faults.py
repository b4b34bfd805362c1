"""`kill -9` of a service mid-load on the real `ikm dev up --detach` stack: the supervisor
restarts it alone, and nothing acknowledged is lost or applied twice downstream."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from tests.chaos.conftest import FaultReport
from tests.chaos.harness import DevStack, Load, check, register, settle, when
from tests.support.values import random_nib

REGISTRATIONS = 300


async def kill_mid_load(stack: DevStack, child: str, after: int) -> tuple[Load, dict[str, Any]]:
    """Kills ``child`` once ``after`` registrations are acknowledged; the supervisor restarts
    it once, and the load goes on. Returns the load and `ikm dev status` after it."""
    restarts = stack.state()["restarts"]
    registry = stack.url("registry")  # the supervisor restarts it on the same port
    load = Load()
    nibs = [random_nib() for _ in range(REGISTRATIONS)]
    running = asyncio.create_task(register(lambda: registry, nibs, load))
    await when(lambda: len(load.acknowledged) >= after)
    killed, at = stack.kill(child), time.monotonic()
    entry = await stack.restarted(child, killed)
    await running
    assert load.refused == {}, load.refused
    # a killed registry acknowledges nothing: what comes after the kill is its successor's
    assert load.acknowledged_after(at) > 0, "the load must go on after the kill"
    # the stack is shared by the suite: counted from before this kill, only this child restarted
    assert entry["restarts"] == restarts[child] + 1
    status = stack.status()
    assert status["restarts"] == {**restarts, child: restarts[child] + 1}
    return load, status


async def test_registry_killed_mid_load_is_restarted_and_loses_nothing(
    stack: DevStack, fault_report: FaultReport
) -> None:
    before = stack.state()
    others = {n: p for n, p in before["pids"].items() if n != "registry"}
    broker = before["broker"]["pid"]
    load, state = await kill_mid_load(stack, "registry", after=REGISTRATIONS // 3)
    assert {n: p for n, p in state["pids"].items() if n != "registry"} == others
    assert state["broker"]["pid"] == broker, "the broker must survive a service crash"
    check(await settle(stack, load), fault_report, "kill -9 registry mid-load")


async def test_consumer_killed_mid_load_is_restarted_and_applies_each_event_once(
    stack: DevStack, fault_report: FaultReport
) -> None:
    load, _ = await kill_mid_load(stack, "notify", after=REGISTRATIONS // 3)
    check(await settle(stack, load), fault_report, "kill -9 notify mid-load")
