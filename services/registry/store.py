"""Registry persistence: its collections, one repository per aggregate, and its unit of work."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any, ClassVar

from contracts.values import campaign_key
from ikmkit.service import limits
from ikmkit.store import CollectionSpec, Columns, GroupRow, Range, Transaction
from ikmkit.store.port import Filter
from ikmkit.store.repository import Repository
from ikmkit.unit_of_work import UnitOfWork
from services.registry.domain.model import Enterprise
from services.registry.domain.mou import MoU
from services.registry.domain.partner import Partner

ENTERPRISES = "enterprises"
PARTNERS = "partners"
MOUS = "mous"
MOU_PARTIES = "mou_parties"
"""One row per (MoU, party): lets MoUs be listed by party on every store adapter. It repeats the
MoU's list filters (``MOU_FILTERS``) so a party's listing filters by them too."""
MOU_FILTERS = ("scope", "status", "province")
"""What ``GET /mous`` filters by, repeated on the party rows."""
ENTERPRISE_TAGS = "enterprise_tags"
"""One row per (enterprise, marketplace platform) and per (enterprise, campaign), with the
enterprise's list filters repeated: lets ``GET /enterprises`` filter by platform and campaign
in the store (no adapter filters on membership of a list)."""
TAG_FILTERS = ("province", "regency", "kbli", "status", "size_class")
"""The enterprise fields a tag row repeats, so a listing by tag filters by them too."""

MARKS = "registry_marks"
"""One document per one-off rewrite of stored rows done (``CAMPAIGN_KEYS``), so the next
start does not scan again."""
CAMPAIGN_KEYS = "campaign_keys"
"""The mark of the pass that moved campaign tag rows written under a spelling to their key."""

_ENTERPRISE_INDEXES = [
    ("province", "status"), ("regency",), ("kbli",), ("size_class",), ("status",)
]  # fmt: skip
_TAG_INDEXES = [("tag", "province", "status"), ("tag", "regency"), ("nib",)]

COLLECTIONS = (
    # The indexed fields as columns where a store keeps them (SQLite): an insert indexes
    # them without parsing the document once per index.
    CollectionSpec(
        ENTERPRISES,
        indexes=_ENTERPRISE_INDEXES,
        columns=Columns(TAG_FILTERS, indexes=[(fields, {}) for fields in _ENTERPRISE_INDEXES]),
    ),
    CollectionSpec(
        ENTERPRISE_TAGS,
        indexes=_TAG_INDEXES,
        columns=Columns(
            ("tag", "nib", *TAG_FILTERS), indexes=[(fields, {}) for fields in _TAG_INDEXES]
        ),
    ),
    CollectionSpec(
        PARTNERS, indexes=[("partner_type",), ("country", "partner_type"), ("province",)]
    ),
    CollectionSpec(MARKS),
    CollectionSpec(MOUS, indexes=[("status", "valid_until"), ("scope",), ("province",)]),
    CollectionSpec(
        MOU_PARTIES, indexes=[("partner_id", "status"), ("partner_id", "province"), ("mou_id",)]
    ),
)


class EnterpriseRepository(Repository[Enterprise]):
    collection: ClassVar[str] = ENTERPRISES
    model = Enterprise
    id_field: ClassVar[str] = "nib"
    what: ClassVar[str] = "enterprise"

    async def existing(self, nibs: Sequence[str]) -> set[str]:
        """Which of these NIBs are registered (their documents are not parsed)."""
        return set(await self.tx.get_many(ENTERPRISES, nibs))

    async def add(self, item: Enterprise) -> Enterprise:
        added = await super().add(item)
        if tags := _tag_rows(item):  # most have none: no statement for nothing (~3 µs)
            await self.tx.insert_many(ENTERPRISE_TAGS, tags)
        return added

    async def add_many(self, items: Sequence[Enterprise]) -> None:
        await super().add_many(items)
        await self.tx.insert_many(ENTERPRISE_TAGS, [row for e in items for row in _tag_rows(e)])

    async def save(self, item: Enterprise) -> Enterprise:
        saved = await super().save(item)
        await self._retag(item)
        return saved

    async def _retag(self, item: Enterprise) -> None:
        """The tag rows follow the enterprise: gone tags deleted, kept ones refreshed."""
        found = await self.tx.find(ENTERPRISE_TAGS, {"nib": item.nib}, limit=_TAGS_MAX)
        before = {row["id"] for row in found.items}
        rows = {row.pop("id"): row for row in _tag_rows(item)}
        for stale in before - rows.keys():
            await self.tx.delete(ENTERPRISE_TAGS, stale)
        kept = {i: row for i, row in rows.items() if i in before}
        if kept:
            await self.tx.patch_each(ENTERPRISE_TAGS, kept)
        new = [{"id": i, **row} for i, row in rows.items() if i not in before]
        if new:
            await self.tx.insert_many(ENTERPRISE_TAGS, new)

    async def page_tagged(
        self, tag: str, where: Filter, *, limit: int, cursor: str | None
    ) -> tuple[list[Enterprise], str | None]:
        """Enterprises with ``tag`` (``platform:<p>`` or ``campaign_tag``) matching ``where``
        (fields of ``TAG_FILTERS``, or ``platforms.<p>``), in NIB order."""
        page = await self.tx.find(
            ENTERPRISE_TAGS, {"tag": tag, **where}, limit=limit, cursor=cursor
        )
        found = await self.get_many([row["nib"] for row in page.items])
        items = [found[row["nib"]] for row in page.items if row["nib"] in found]
        return items, page.next_cursor

    async def counts_by(self, field: str, where: Filter) -> list[GroupRow]:
        return await self.tx.group(ENTERPRISES, [field], where)

    async def rekey_campaign_rows(self, cursor: str | None, limit: int) -> str | None:
        """One page of campaign tag rows, those a release before ``campaign_key`` wrote
        under the spelling typed moved to their key's row (one row if an enterprise had two
        spellings); the cursor of the next page (None: done)."""
        where = {"tag": Range(gte="campaign:", lt="campaign;")}
        page = await self.tx.find(ENTERPRISE_TAGS, where, limit=limit, cursor=cursor)
        moved: dict[str, dict[str, Any]] = {}
        for row in page.items:
            tag = campaign_tag(row["tag"].removeprefix("campaign:"))
            if tag != row["tag"]:
                await self.tx.delete(ENTERPRISE_TAGS, row["id"])
                moved[f"{row['nib']}|{tag}"] = {**row, "id": f"{row['nib']}|{tag}", "tag": tag}
        if moved:
            present = await self.tx.get_many(ENTERPRISE_TAGS, list(moved))
            await self.tx.insert_many(
                ENTERPRISE_TAGS, [row for i, row in moved.items() if i not in present]
            )
        return page.next_cursor


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

    async def add_many(self, items: Sequence[MoU]) -> None:
        await super().add_many(items)
        rows = [_party_row(m, p) for m in items for p in m.party_ids()]
        await self.tx.insert_many(MOU_PARTIES, rows)

    async def existing(self, mou_ids: Sequence[str]) -> set[str]:
        return set(await self.tx.get_many(MOUS, mou_ids))

    async def save(self, item: MoU) -> MoU:
        saved = await super().save(item)
        # The party rows repeat the filters (a row written before they held the province gets
        # it here, at its MoU's next write).
        await self.tx.patch_many(
            MOU_PARTIES, [f"{item.mou_id}|{p}" for p in item.party_ids()], _filters(item)
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


_TAGS_MAX = 2 * limits.ITEMS_MAX + 50
"""More than the tag rows one enterprise can have (its platforms and campaigns)."""


def campaign_tag(campaign: str) -> str:
    """The tag of a campaign's rows: by its key, so every spelling lists the same enterprises."""
    return f"campaign:{campaign_key(campaign)}"


def _tag_rows(e: Enterprise) -> list[dict[str, Any]]:
    platforms = sorted({s.platform for s in e.marketplace_stores})
    common = {
        "nib": e.nib,
        **{name: getattr(e, name) for name in TAG_FILTERS},
        "platforms": dict.fromkeys(platforms, True),
    }
    tags = [f"platform:{p}" for p in platforms] + [campaign_tag(c) for c in e.campaigns]
    return [{"id": f"{e.nib}|{tag}", "tag": tag, **common} for tag in dict.fromkeys(tags)]


def _filters(mou: MoU) -> dict[str, Any]:
    return {name: getattr(mou, name) for name in MOU_FILTERS}


def _party_row(mou: MoU, partner_id: str) -> dict[str, Any]:
    role = next(p.role for p in mou.parties if p.partner_id == partner_id)
    return {
        "id": f"{mou.mou_id}|{partner_id}",
        "mou_id": mou.mou_id,
        "partner_id": partner_id,
        "role": role,
        **_filters(mou),
    }


class RegistryUnit(UnitOfWork):
    """The registry's unit of work: its repositories on one transaction."""

    def __init__(self, tx: Transaction) -> None:
        super().__init__(tx)
        self.enterprises = EnterpriseRepository(tx)
        self.partners = PartnerRepository(tx)
        self.mous = MoURepository(tx)

    async def marked(self, name: str) -> bool:
        """Whether the one-off rewrite ``name`` was done on this store (``MARKS``)."""
        return await self.tx.get(MARKS, name) is not None

    async def mark(self, name: str) -> None:
        await self.tx.insert(MARKS, {"id": name})
