"""Insights persistence: the projections built from events, the replicas they need, the
targets, and the unit of work that holds them.

- ``counts``: one document per cell (indicator, fiscal year, month, province, regency,
  dimension) with its ``value``; a cell whose value returns to 0 is deleted, so the collection
  depends only on which events were counted, never on their order (``ikm audit rebuild``).
- ``members``: distinct counts (link-and-match SMK and companies): one document per
  (indicator, fiscal year, member), remembering the cell it is counted in.
- ``mou_parties``: the partners of link-and-match MoUs, kept until the partner is known.
- replicas (``replicas.py``): enterprises, partners, MoUs.
- ``targets``: the service's own aggregate, set by ministry officers."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from pydantic import BaseModel

from ikmkit.store import CollectionSpec, Counters, Transaction
from ikmkit.store.repository import Repository
from ikmkit.unit_of_work import UnitOfWork
from services.insights.derived import DROPPED
from services.insights.domain.model import Target
from services.insights.domain.tally import CELL_FIELDS, Tally, part
from services.insights.replicas import ENTERPRISE_REPLICA, MOU_REPLICA, PARTNER_REPLICA, Replicas

COUNTS = "counts"
MEMBERS = "members"
MOU_PARTIES = "mou_parties"
TARGETS = "targets"

DERIVED = (COUNTS, MEMBERS, MOU_PARTIES, ENTERPRISE_REPLICA, PARTNER_REPLICA, MOU_REPLICA)
"""Collections wholly derived from consumed events (what ``ikm audit rebuild`` compares)."""

COLLECTIONS = (
    CollectionSpec(
        COUNTS,
        counter=Counters(
            CELL_FIELDS,
            # Every read names an indicator and a dimension (its total or one value), then
            # groups and sums by the rest: keyed in this order (SQLite: the primary key of
            # the cells' columns, the values in its rows; MongoDB: an index of it and the
            # value), the dashboard's reads are answered from the key alone (docs/insights.md,
            # "Speed"; docs/performance.md, "Insights consumers").
            order=("indicator", "dimension", "fiscal_year", "month", "province", "regency"),
            dropped=DROPPED,  # read from other cells (``derived.py``)
        ),
    ),
    CollectionSpec(MEMBERS),
    CollectionSpec(MOU_PARTIES, indexes=[("partner_id",)]),
    CollectionSpec(ENTERPRISE_REPLICA),
    CollectionSpec(PARTNER_REPLICA),
    CollectionSpec(MOU_REPLICA),
    CollectionSpec(TARGETS, indexes=[("fiscal_year", "province"), ("indicator",)]),
)


class TargetRepository(Repository[Target]):
    collection = TARGETS
    model = Target
    id_field = "target_id"
    what = "target"


class CountRepository:
    """The ``counts`` cells, a counter collection: a tally adds its deltas with one upsert per
    cell, no read first (``Transaction.add_counts``); a cell whose value comes back to 0 is
    deleted. The cells go as their fields only (their id derives from them) and in the order
    the tally first touched them: sorting them cost more than it saved SQLite's B-tree."""

    def __init__(self, tx: Transaction) -> None:
        self.tx = tx

    async def apply(self, tally: Tally) -> None:
        # A tally's key is the cell's fields in ``CELL_FIELDS``' order: the row is the key and
        # its delta (``add_count_rows``; a document per cell cost ~0.5 µs more per cell).
        rows = [(*key, delta) for key, delta in tally.sums.items() if delta]
        if rows:
            await self.tx.add_count_rows(COUNTS, rows)


class Member(BaseModel):
    """One member of a distinct count, counted in the cell of its earliest month."""

    id: str
    indicator: str
    fiscal_year: int
    member: str
    month: int
    province: str
    regency: str
    version: int = 0


class MemberRepository:
    def __init__(self, tx: Transaction) -> None:
        self.tx = tx

    async def claim(
        self,
        tally: Tally,
        indicator: str,
        at: date,
        member: str,
        province: str | None,
        regency: str | None = None,
    ) -> None:
        """``member`` belongs to ``indicator`` in ``at``'s fiscal year: counted once, in the
        month of its earliest membership whatever order the memberships arrive in."""
        key = f"{indicator}|{at.year}|{part(member)}"
        doc = await self.tx.get(MEMBERS, key)
        found = None if doc is None else Member.model_validate(doc)
        if found is not None and found.month <= at.month:
            return
        now = Member(
            id=key,
            indicator=indicator,
            fiscal_year=at.year,
            member=member,
            month=at.month,
            province=part(province),
            regency=part(regency),
        )
        if found is None:
            await self.tx.insert(MEMBERS, now.model_dump(exclude={"version"}))
        else:
            was = date(found.fiscal_year, found.month, 1)
            tally.add(indicator, was, found.province, found.regency, amount=-1)
            await self.tx.replace(MEMBERS, {**now.model_dump(), "version": found.version})
        tally.add(indicator, at, now.province, now.regency)


class MoUParty(BaseModel):
    """A partner that is a party to a link-and-match MoU, with when the MoU was signed."""

    id: str
    partner_id: str
    mou_id: str
    signed_on: date


class MoUPartyRepository:
    def __init__(self, tx: Transaction) -> None:
        self.tx = tx

    async def put(self, parties: Sequence[MoUParty]) -> None:
        stored = await self.tx.get_many(MOU_PARTIES, [p.id for p in parties])
        fresh = [p.model_dump(mode="json") for p in parties if p.id not in stored]
        if fresh:
            await self.tx.insert_many(MOU_PARTIES, fresh)

    async def of_partner(self, partner_id: str) -> list[MoUParty]:
        page = await self.tx.find(MOU_PARTIES, {"partner_id": partner_id}, limit=10_000)
        return [MoUParty.model_validate(doc) for doc in page.items]


class InsightsUnit(UnitOfWork):
    """An insights unit of work: one transaction and the service's repositories."""

    def __init__(self, tx: Transaction) -> None:
        super().__init__(tx)
        self.targets = TargetRepository(tx)
        self.counts = CountRepository(tx)
        self.members = MemberRepository(tx)
        self.mou_parties = MoUPartyRepository(tx)
        self.replicas = Replicas(tx)
