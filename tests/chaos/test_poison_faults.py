"""Poison mid-load on the suite's running stack (none of these faults takes anything down):
hostile requests, a ~1 MiB record and a forged event on the registry's topic.
Each gets a 4xx or goes to the dead letters with its reason, and the registrations around
it are all published and consumed once, with no partition left behind.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable

import httpx
from aiokafka import AIOKafkaProducer, ConsumerRecord

from contracts.registry import ENTERPRISE_TOPIC
from tests.chaos.conftest import FaultReport
from tests.chaos.harness import (
    MINISTRY,
    DevStack,
    Load,
    check,
    inbox_counts,
    register,
    settle,
    when,
)
from tests.chaos.probes import (
    CONSUMER_GROUPS,
    caught_up,
    dead_lettered_by_every_group,
    readiness_until,
    ready,
)
from tests.support.consumer_effects import OVERSIZED
from tests.support.forged import enterprise, send
from tests.support.kafka import envelope_headers, header, produce
from tests.support.registry_api import enterprise_body
from tests.support.values import random_nib

REGISTRATIONS = 200


async def mid_load(stack: DevStack, poison: Callable[[dict[str, str]], Awaitable[None]]) -> Load:
    """Registrations flow; ``poison`` runs once a third are acknowledged; the load finishes
    after it, without one refusal. The last third is sent only once the poison is done, so
    "the load went on after it" holds however long the poison takes on a loaded machine."""
    urls = stack.state()["services"]
    load = Load()
    nibs = [random_nib() for _ in range(REGISTRATIONS)]
    during, after = nibs[: 2 * REGISTRATIONS // 3], nibs[2 * REGISTRATIONS // 3 :]
    running = asyncio.create_task(register(lambda: urls["registry"], during, load, rate=50))
    await when(lambda: len(load.acknowledged) >= REGISTRATIONS // 3)
    await poison(urls)
    acknowledged_before = len(load.acknowledged)
    await running
    await register(lambda: urls["registry"], after, load, rate=50)
    assert load.refused == {} and load.broken == 0, (load.refused, load.broken)
    assert len(load.acknowledged) > acknowledged_before, "the load went on after the poison"
    return load


async def nothing_stalled(stack: DevStack) -> None:
    """Every group committed the whole topic, and every /readyz is 200 with its consumers ok."""
    state = stack.state()
    await caught_up(state["kafka"], ENTERPRISE_TOPIC)
    await readiness_until(state["services"], ready, timeout=30)


async def hostile_requests(urls: dict[str, str]) -> dict[str, int]:
    registry, subsidy = urls["registry"], urls["subsidy"]
    surrogate = json.dumps(enterprise_body(random_nib(), street="Jl. Malioboro \udcff")).encode()
    async with httpx.AsyncClient(headers=MINISTRY, timeout=60) as client:

        async def post(body: dict[str, object]) -> int:
            return (await client.post(f"{registry}/enterprises", json=body)).status_code

        return {
            "5 MB body": await post(enterprise_body(random_nib(), street="x" * 5_000_000)),
            "40,000 products": await post(enterprise_body(random_nib(), products=["b"] * 40_000)),
            "lone surrogate": (
                await client.post(
                    f"{registry}/enterprises",
                    content=surrogate,
                    headers={"content-type": "application/json"},
                )
            ).status_code,
            "fiscal_year 2^63": (
                await client.get(f"{subsidy}/budgets", params={"fiscal_year": 2**63})
            ).status_code,
            "non-ASCII local part": await post(
                enterprise_body(random_nib(), owner_email="pémilik@contoh.id")
            ),
        }


async def test_hostile_requests_mid_load_are_refused_and_halt_nothing(
    stack: DevStack, fault_report: FaultReport
) -> None:
    answers: dict[str, int] = {}

    async def poison(urls: dict[str, str]) -> None:
        answers.update(await hostile_requests(urls))

    load = await mid_load(stack, poison)
    assert answers == {
        "5 MB body": 413,
        "40,000 products": 422,
        "lone surrogate": 422,
        "fiscal_year 2^63": 422,
        "non-ASCII local part": 422,
    }
    check(await settle(stack, load), fault_report, "poison requests mid-load")
    await nothing_stalled(stack)


async def record_mid_load(
    stack: DevStack,
    report: FaultReport,
    fault: str,
    key: str,
    write: Callable[[str], Awaitable[None]],
) -> dict[str, ConsumerRecord[bytes, bytes]]:
    """``write(kafka)`` puts one record keyed ``key`` straight onto the registry's topic
    mid-load. Returns each group's dead letter of it, once the load is settled and checked
    and no partition is left behind."""
    kafka = stack.state()["kafka"]

    async def poison(urls: dict[str, str]) -> None:
        await write(kafka)

    load = await mid_load(stack, poison)
    letters = await dead_lettered_by_every_group(kafka, ENTERPRISE_TOPIC, key)
    check(await settle(stack, load), report, fault)
    await nothing_stalled(stack)
    return letters


async def test_a_1_mib_record_mid_load_is_dead_lettered_by_every_group(
    stack: DevStack, fault_report: FaultReport
) -> None:
    oversized = enterprise("Oversized Co")  # valid-looking headers; the value is no JSON
    nib = oversized.nib
    big = b'{"nib": "' + b"9" * (OVERSIZED - 10) + b'"'

    async def write(kafka: str) -> None:
        await produce(kafka, ENTERPRISE_TOPIC, big, envelope_headers(oversized), nib.encode())

    letters = await record_mid_load(stack, fault_report, "1 MiB record mid-load", nib, write)
    assert {g: header(r, "dlq_truncated") for g, r in letters.items()} == dict.fromkeys(
        CONSUMER_GROUPS, "true"
    )
    assert {header(r, "dlq_original_size") for r in letters.values()} == {str(OVERSIZED)}
    assert max(len(r.value or b"") for r in letters.values()) < len(big) == OVERSIZED


async def test_a_forged_registration_mid_load_is_dead_lettered_forged(
    stack: DevStack, fault_report: FaultReport
) -> None:
    forged = enterprise("Forged Co")

    async def write(kafka: str) -> None:
        producer = AIOKafkaProducer(bootstrap_servers=kafka, enable_idempotence=False)
        await producer.start()
        try:
            await send(producer, forged, source="/evil/forger", made_up_hash=True)
        finally:
            await producer.stop()

    fault = "forged registration mid-load"
    letters = await record_mid_load(stack, fault_report, fault, forged.nib, write)
    assert {g: header(r, "dlq_reason") for g, r in letters.items()} == dict.fromkeys(
        CONSUMER_GROUPS, "forged"
    )
    assert all("/evil/forger" in (header(r, "dlq_error") or "") for r in letters.values())
    notify = stack.url("notify")
    assert await inbox_counts(notify, [forged.nib]) == {forged.nib: 0}
