"""Active enterprises written straight into subsidy's replica, as if the registry's events had
been consumed: for tests of budgets and approvals that need many applicants."""

from __future__ import annotations

from ikmkit.store import Store
from services.subsidy.replicas import ENTERPRISES, EnterpriseReplica
from tests.support.enterprises import registration
from tests.support.kafka import eventually, produce_event
from tests.support.values import random_nib


async def add_enterprises(store: Store, count: int, province: str = "34") -> list[str]:
    """``count`` active small metal-working IKMs of ``province``; their NIBs."""
    nibs = [random_nib() for _ in range(count)]
    async with store.transaction() as uow:
        for nib in nibs:
            replica = EnterpriseReplica(
                nib=nib,
                name=f"CV Logam {nib[-4:]}",
                province=province,
                regency=f"{province}71",
                kbli="25920",
                directorate="metal_machinery_electronics_transport",
                size_class="small",
                status="active",
                sequence=2,
            )
            await uow.insert(ENTERPRISES.collection, {**replica.model_dump(mode="json"), "id": nib})
    return nibs


async def registered_through_kafka(
    kafka: str, store: Store, nibs: list[str], within: float
) -> None:
    """Produce a registration for each of ``nibs`` and wait until subsidy's replica (keyed by
    NIB) holds every one."""
    for nib in nibs:
        await produce_event(kafka, registration(nib))

    async def replicated() -> bool:
        async with store.transaction() as uow:
            found = await uow.get_many(ENTERPRISES.collection, nibs)
        return len(found) == len(nibs)

    await eventually(replicated, within)
