"""Registry persistence: its collections, one repository per aggregate, and its unit of work."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any, ClassVar

from ikmkit.store import CollectionSpec, GroupRow, Range, Transaction
from ikmkit.store.port import Filter
from ikmkit.store.repository import Repository
from ikmkit.unit_of_work import UnitOfWork
from services.registry.domain.model import Enterprise, Partner
from services.registry.domain.mou import MoU

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


class EnterpriseRepository(Repository[Enterprise]):
    collection: ClassVar[str] = ENTERPRISES
    model = Enterprise
    id_field: ClassVar[str] = "nib"
    what: ClassVar[str] = "enterprise"

    async def existing(self, nibs: Sequence[str]) -> set[str]:
        """Which of these NIBs are registered (their documents are not parsed)."""
        return set(await self.tx.get_many(ENTERPRISES, nibs))

    async def counts_by(self, field: str, where: Filter) -> list[GroupRow]:
        return await self.tx.group(ENTERPRISES, [field], where)


class PartnerRepository(Repository[Partner]):
    collection: ClassVar[str] = PARTNERS
    model = Partner
    id_field: ClassVar[str] = "partner_id"
    what: ClassVar[str] = "partner"

    async def existing(self, partner_ids: Sequence[str]) -> set[str]:
        return set(await self.tx.get_many(PARTNERS, partner_ids))


class MoURepository(Repository[MoU]):
    """MoUs, and with each the rows of its parties (written with it, in its transaction)."""

    collection: ClassVar[str] = MOUS
    model = MoU
    id_field: ClassVar[str] = "mou_id"
    what: ClassVar[str] = "MoU"

    async def add(self, item: MoU) -> MoU:
        added = await super().add(item)
        await self.tx.insert_many(MOU_PARTIES, [_party_row(item, p) for p in item.party_ids()])
        return added

    async def save(self, item: MoU) -> MoU:
        saved = await super().save(item)
        # The party rows repeat the status so a party's MoUs can be filtered by it.
        await self.tx.patch_many(
            MOU_PARTIES, [f"{item.mou_id}|{p}" for p in item.party_ids()], {"status": item.status}
        )
        return saved

    async def page_of_party(
        self, partner_id: str, where: Filter, *, limit: int, cursor: str | None
    ) -> tuple[list[MoU], str | None]:
        page = await self.tx.find(
            MOU_PARTIES, {"partner_id": partner_id, **where}, limit=limit, cursor=cursor
        )
        found = await self.get_many([row["mou_id"] for row in page.items])
        mous = [found[row["mou_id"]] for row in page.items if row["mou_id"] in found]
        return mous, page.next_cursor

    async def due_to_expire(self, today: date, limit: int) -> list[MoU]:
        where = {"status": "signed", "valid_until": Range(lt=today.isoformat())}
        return (await self.page(where, limit=limit))[0]

    async def counts_by(self, fields: Sequence[str]) -> list[GroupRow]:
        return await self.tx.group(MOUS, list(fields))


def _party_row(mou: MoU, partner_id: str) -> dict[str, Any]:
    role = next(p.role for p in mou.parties if p.partner_id == partner_id)
    return {
        "id": f"{mou.mou_id}|{partner_id}",
        "mou_id": mou.mou_id,
        "partner_id": partner_id,
        "role": role,
        "scope": mou.scope,
        "status": mou.status,
    }


class RegistryUnit(UnitOfWork):
    """The registry's unit of work: its repositories on one transaction."""

    def __init__(self, tx: Transaction) -> None:
        super().__init__(tx)
        self.enterprises = EnterpriseRepository(tx)
        self.partners = PartnerRepository(tx)
        self.mous = MoURepository(tx)
