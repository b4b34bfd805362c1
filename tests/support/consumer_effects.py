"""A consumer whose effect is a row per event, for the consumer fault tests."""

from __future__ import annotations

import uuid

from contracts.registry import EnterpriseRegistered
from ikmkit.store import Store
from ikmkit.unit_of_work import UnitOfWork
from tests.support.enterprises import registration

EFFECTS = "effects"


OVERSIZED = 1_047_999  # the figure: accepted by the broker, its DLQ copy is not


def registered(nib: str) -> EnterpriseRegistered:
    return registration(nib, "CV Sesudah")


async def record_effect(event: EnterpriseRegistered, meta: object, uow: UnitOfWork) -> None:
    await uow.tx.insert(EFFECTS, {"id": uuid.uuid4().hex, "nib": event.nib})


async def effects_for(store: Store, nib: str) -> list[dict[str, object]]:
    async with store.transaction() as uow:
        return (await uow.find(EFFECTS, {"nib": nib}, limit=10)).items
