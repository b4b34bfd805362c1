"""Registry persistence: collections and the enterprise repository over the store port."""

from __future__ import annotations

from ikmkit.store import CollectionSpec, UnitOfWork

from services.registry.domain import Enterprise

ENTERPRISES = "enterprises"

COLLECTIONS = (
    CollectionSpec(ENTERPRISES, indexes=[("province", "status"), ("kbli",), ("size_class",)]),
)


class EnterpriseRepository:
    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    async def get(self, nib: str) -> Enterprise | None:
        doc = await self._uow.get(ENTERPRISES, nib)
        return None if doc is None else Enterprise.model_validate(doc)

    async def add(self, enterprise: Enterprise) -> Enterprise:
        doc = enterprise.model_dump(mode="json", exclude={"version"})
        stored = await self._uow.insert(ENTERPRISES, {"id": enterprise.nib, **doc})
        return Enterprise.model_validate(stored)
