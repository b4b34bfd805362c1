"""Registry persistence: collections and repositories over the store port."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ikmkit.store import CollectionSpec, GroupRow, Page, Range, Transaction
from services.registry.domain import Enterprise, MoU, Partner

ENTERPRISES = "enterprises"
PARTNERS = "partners"
MOUS = "mous"
MOU_PARTIES = "mou_parties"
"""One row per (MoU, party): lets MoUs be listed by party on every store adapter."""

COLLECTIONS = (
    CollectionSpec(
        ENTERPRISES,
        indexes=[("province", "status"), ("regency",), ("kbli",), ("size_class",), ("status",)],
    ),
    CollectionSpec(PARTNERS, indexes=[("partner_type",)]),
    CollectionSpec(MOUS, indexes=[("status", "valid_until"), ("scope",)]),
    CollectionSpec(MOU_PARTIES, indexes=[("partner_id", "status"), ("mou_id",)]),
)


def _doc(doc_id: str, model: Enterprise | Partner | MoU) -> dict[str, Any]:
    return {**model.model_dump(mode="json"), "id": doc_id}


class EnterpriseRepository:
    def __init__(self, uow: Transaction) -> None:
        self._uow = uow

    async def get(self, nib: str) -> Enterprise | None:
        doc = await self._uow.get(ENTERPRISES, nib)
        return None if doc is None else Enterprise.model_validate(doc)

    async def add(self, enterprise: Enterprise) -> Enterprise:
        await self._uow.insert(ENTERPRISES, _doc(enterprise.nib, enterprise))
        return enterprise.model_copy(update={"version": 1})

    async def add_many(self, enterprises: Sequence[Enterprise]) -> None:
        await self._uow.insert_many(ENTERPRISES, [_doc(e.nib, e) for e in enterprises])

    async def existing(self, nibs: Sequence[str]) -> set[str]:
        return set(await self._uow.get_many(ENTERPRISES, nibs))

    async def save(self, enterprise: Enterprise) -> Enterprise:
        """Optimistic concurrency: ``VersionConflict`` if someone saved it since it was read."""
        stored = await self._uow.replace(ENTERPRISES, _doc(enterprise.nib, enterprise))
        return enterprise.model_copy(update={"version": stored["version"]})

    async def find(self, where: dict[str, Any], *, limit: int, cursor: str | None) -> Page:
        return await self._uow.find(ENTERPRISES, where, limit=limit, cursor=cursor)

    async def counts_by(self, field: str, where: dict[str, Any]) -> list[GroupRow]:
        return await self._uow.group(ENTERPRISES, [field], where)


class PartnerRepository:
    def __init__(self, uow: Transaction) -> None:
        self._uow = uow

    async def get(self, partner_id: str) -> Partner | None:
        doc = await self._uow.get(PARTNERS, partner_id)
        return None if doc is None else Partner.model_validate(doc)

    async def existing(self, partner_ids: Sequence[str]) -> set[str]:
        return set(await self._uow.get_many(PARTNERS, partner_ids))

    async def add(self, partner: Partner) -> Partner:
        await self._uow.insert(PARTNERS, _doc(partner.partner_id, partner))
        return partner.model_copy(update={"version": 1})


class MoURepository:
    def __init__(self, uow: Transaction) -> None:
        self._uow = uow

    async def get(self, mou_id: str) -> MoU | None:
        doc = await self._uow.get(MOUS, mou_id)
        return None if doc is None else MoU.model_validate(doc)

    async def add(self, mou: MoU) -> MoU:
        await self._uow.insert(MOUS, _doc(mou.mou_id, mou))
        await self._uow.insert_many(
            MOU_PARTIES,
            [
                {
                    "id": f"{mou.mou_id}|{party.partner_id}",
                    "mou_id": mou.mou_id,
                    "partner_id": party.partner_id,
                    "role": party.role,
                    "scope": mou.scope,
                    "status": mou.status,
                }
                for party in mou.parties
            ],
        )
        return mou.model_copy(update={"version": 1})

    async def save(self, mou: MoU) -> MoU:
        stored = await self._uow.replace(MOUS, _doc(mou.mou_id, mou))
        # The party rows repeat the status so a party's MoUs can be filtered by it.
        await self._uow.patch_many(
            MOU_PARTIES, [f"{mou.mou_id}|{p}" for p in mou.party_ids()], {"status": mou.status}
        )
        return mou.model_copy(update={"version": stored["version"]})

    async def find(
        self, where: dict[str, Any], *, limit: int, cursor: str | None
    ) -> tuple[list[MoU], str | None]:
        page = await self._uow.find(MOUS, where, limit=limit, cursor=cursor)
        return [MoU.model_validate(d) for d in page.items], page.next_cursor

    async def find_by_party(
        self, partner_id: str, where: dict[str, Any], *, limit: int, cursor: str | None
    ) -> tuple[list[MoU], str | None]:
        page = await self._uow.find(
            MOU_PARTIES, {"partner_id": partner_id, **where}, limit=limit, cursor=cursor
        )
        found = await self._uow.get_many(MOUS, [row["mou_id"] for row in page.items])
        mous = [
            MoU.model_validate(found[row["mou_id"]]) for row in page.items if row["mou_id"] in found
        ]
        return mous, page.next_cursor

    async def due_to_expire(self, today_iso: str, limit: int) -> list[MoU]:
        page = await self._uow.find(
            MOUS, {"status": "signed", "valid_until": Range(lt=today_iso)}, limit=limit
        )
        return [MoU.model_validate(d) for d in page.items]

    async def counts_by(self, fields: Sequence[str]) -> list[GroupRow]:
        return await self._uow.group(MOUS, list(fields))
