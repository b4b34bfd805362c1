"""What insights must remember of other services' aggregates, because a later event does not
carry it (``ikmkit.messaging.replica``): an enterprise's status, place and class (to move it
between the active and suspended stocks), a partner's type and province (to tell the SMK and
the companies of a link-and-match MoU), an MoU's scope and place (to end it in the stock it
was counted in).

Every event type of these topics reaches ``apply``: the types a replica does not use (and any
type added to the topic later) still advance its sequence, so a missing event is noticed."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

from contracts.base import as_validated
from contracts.envelope import EnvelopeAttributes
from contracts.registry import (
    ENTERPRISE_TOPIC,
    MINISTRY_PARTY_ID,
    MOU_TOPIC,
    PARTNER_TOPIC,
    EnterpriseClassChanged,
    EnterpriseRegistered,
    EnterpriseReinstated,
    EnterpriseSuspended,
    EnterpriseUpdated,
    EnterpriseVerified,
    MoUExpired,
    MoUSigned,
    MoUTerminated,
    PartnerRegistered,
)
from contracts.values import campaign_key
from ikmkit.messaging.replica import Replicated, SequencedReplica, SequenceGap
from ikmkit.store import Transaction
from services.insights.domain.tally import Position

ENTERPRISE_REPLICA = "enterprise_replica"
PARTNER_REPLICA = "partner_replica"
MOU_REPLICA = "mou_replica"

STOCK_OF_STATUS = {"active": "enterprises.active", "suspended": "enterprises.suspended"}


class EnterpriseReplica(Replicated):
    status: str = "registered"
    province: str
    regency: str | None = None
    size_class: str | None = None
    directorate: str | None = None
    kbli: str | None = None
    campaigns: list[str] = []
    """The campaigns' keys (``campaign_key``): a campaign counts once whatever its spelling."""

    def stock(self) -> Position | None:
        """Where the enterprise is counted among the active or suspended (None: neither)."""
        indicator = STOCK_OF_STATUS.get(self.status)
        if indicator is None:
            return None
        dims = (("size_class", self.size_class),) if self.size_class else ()
        return Position(indicator, self.province, self.regency, dims)


class PartnerReplica(Replicated):
    partner_type: str | None = None
    province: str | None = None


class MoUReplica(Replicated):
    scope: str
    status: str = "signed"
    province: str | None = None
    regency: str | None = None

    def stock(self) -> Position | None:
        if self.status != "signed":
            return None
        return Position("mous.active", self.province, self.regency, (("scope", self.scope),))


ENTERPRISES = SequencedReplica(ENTERPRISE_REPLICA, EnterpriseReplica)
PARTNERS = SequencedReplica(PARTNER_REPLICA, PartnerReplica)
MOUS = SequencedReplica(MOU_REPLICA, MoUReplica)

_STATUS_AFTER: dict[type[Any], Callable[[Any], str]] = {
    EnterpriseRegistered: lambda e: "registered",
    EnterpriseVerified: lambda e: "active",
    EnterpriseSuspended: lambda e: "suspended",
    EnterpriseReinstated: lambda e: e.status,
}


def enterprise_after(event: Any, current: EnterpriseReplica | None) -> EnterpriseReplica:
    """The enterprise after ``event`` (any event of the enterprise topic, even one of a type
    added later: what it does not say is kept)."""
    fields: dict[str, Any] = {}
    if getattr(event, "province", None):
        fields["province"] = event.province
    if isinstance(event, EnterpriseRegistered | EnterpriseUpdated):
        known = current.campaigns if current is not None else []
        fields |= {
            "regency": event.regency,
            "size_class": event.size_class,
            "directorate": event.directorate,
            "kbli": event.kbli,
            "campaigns": list(dict.fromkeys(map(campaign_key, [*known, *event.campaigns]))),
        }
    if isinstance(event, EnterpriseClassChanged):
        fields["size_class"] = event.new_class
    status = _STATUS_AFTER.get(type(event))
    if status is not None:
        fields["status"] = status(event)
    if current is None:
        return EnterpriseReplica(**{"province": "-", **fields})
    return updated(current, fields)


def updated[M: Replicated](model: M, fields: dict[str, Any]) -> M:
    """``model.model_copy(update=fields)`` (no validation either) without pydantic's generic
    copy: the same ``__dict__`` in the same order and the same fields set
    (``tests/unit/test_insights_replica_copy.py``), ~0.6 µs less per replicated event."""
    return as_validated(
        type(model), {**model.__dict__, **fields}, model.model_fields_set | fields.keys()
    )


def partner_after(event: Any, current: PartnerReplica | None) -> PartnerReplica:
    if isinstance(event, PartnerRegistered):
        return PartnerReplica(partner_type=event.partner_type, province=event.province)
    return current or PartnerReplica()


def mou_after(event: Any, meta: EnvelopeAttributes, current: MoUReplica | None) -> MoUReplica:
    """MoU events name no place today; an MoU that carries one (``province``, ``regency``)
    is counted there, else in the event's region, else nationally."""
    if isinstance(event, MoUSigned):
        province = getattr(event, "province", None) or meta.region
        regency = getattr(event, "regency", None)
        return MoUReplica(scope=event.scope, province=province, regency=regency)
    known = current or MoUReplica(scope=getattr(event, "scope", "-"))
    if isinstance(event, MoUExpired):
        return updated(known, {"status": "expired"})
    if isinstance(event, MoUTerminated):
        return updated(known, {"status": "terminated"})
    return known


def party_ids(event: MoUSigned) -> list[str]:
    """The partners that signed (never the ministry, which signs every MoU, nor a witness)."""
    ids = [p.partner_id for p in event.parties if p.role == "party"]
    return [i for i in dict.fromkeys(ids) if i != MINISTRY_PARTY_ID]


class ReplicaView[M: Replicated]:
    """One unit of work's view of a replica: each aggregate is read once (one ``get_many``
    for a whole batch), the events are applied in memory by ``SequencedReplica``'s rule (a
    replay changes nothing, the next sequence applies, a gap is ``SequenceGap``) and each
    changed aggregate is written once, by ``flush``."""

    def __init__(self, replica: SequencedReplica[M], tx: Transaction) -> None:
        self.replica = replica
        self.tx = tx
        self._stored: dict[str, M] = {}
        self._current: dict[str, M | None] = {}
        self._changed: set[str] = set()

    async def load(self, keys: Sequence[str]) -> None:
        missing = [k for k in dict.fromkeys(keys) if k not in self._current]
        if missing:
            found = await self.replica.get_many(self.tx, missing)
            self._stored.update(found)
            self._current.update({k: found.get(k) for k in missing})

    async def get_many(self, keys: Sequence[str]) -> dict[str, M]:
        await self.load(keys)
        return {k: v for k in keys if (v := self._current[k]) is not None}

    async def apply(
        self, meta: EnvelopeAttributes, change: Callable[[M | None], M]
    ) -> tuple[M | None, M] | None:
        """(before, after) the event ``meta`` describes; None if it was applied before."""
        if meta.subject not in self._current:  # usually read already, for the whole batch
            await self.load([meta.subject])
        current = self._current[meta.subject]
        applied = current.sequence if current is not None else 0
        if meta.sequence <= applied:
            return None
        if meta.sequence != applied + 1:
            raise SequenceGap(
                f"{self.replica.collection}/{meta.subject}: event {meta.id} ({meta.type}) has"
                f" sequence {meta.sequence}, but the replica has applied {applied}: events"
                f" {applied + 1}..{meta.sequence - 1} are missing"
            )
        new = change(current)
        if new is current:  # nothing changed: a copy all the same, ``current`` is ``before``
            new = updated(new, {})
        # ``new`` is this event's own model: its sequence is set in place, not by one more
        # pydantic copy per event
        new.sequence = meta.sequence
        self._current[meta.subject] = new
        self._changed.add(meta.subject)
        return current, new

    async def flush(self) -> None:
        fresh: list[dict[str, Any]] = []
        known: list[dict[str, Any]] = []
        for key in sorted(self._changed):
            now = self._current[key]
            assert now is not None
            doc = {**_document(now), "id": key}
            stored = self._stored.get(key)
            if stored is None:
                fresh.append(doc)
            else:
                known.append({**doc, "version": stored.version})
        if known:
            await self.tx.replace_many(self.replica.collection, known)
        if fresh:
            await self.tx.insert_many(self.replica.collection, fresh)
        self._changed.clear()


def _document(model: Replicated) -> dict[str, Any]:
    """``model.model_dump(mode="json")``: a copy of its ``__dict__`` when every field holds a
    JSON value as it is (~1 µs less per written replica; tests/unit/test_insights_fast_paths.py).
    Its values came from validated contract fields of the same types."""
    if _json_as_is(type(model)):
        return dict(model.__dict__)
    return model.model_dump(mode="json")


_AS_IS: tuple[Any, ...] = (str, int, str | None, int | None, list[str])


@functools.cache
def _json_as_is(model: type[Replicated]) -> bool:
    """Every field of ``model`` is one of ``_AS_IS`` and nothing changes how it is dumped."""
    hooks = model.__pydantic_decorators__
    return (
        all(
            f.annotation in _AS_IS and f.serialization_alias is None
            for f in model.model_fields.values()
        )
        and not hooks.field_serializers
        and not hooks.model_serializers
        and not model.model_computed_fields
        and model.model_config.get("extra") in (None, "ignore")
    )


class Replicas:
    """The three replicas as one unit of work sees them."""

    def __init__(self, tx: Transaction) -> None:
        self.enterprises = ReplicaView(ENTERPRISES, tx)
        self.partners = ReplicaView(PARTNERS, tx)
        self.mous = ReplicaView(MOUS, tx)
        self._by_topic: dict[str, ReplicaView[Any]] = {
            ENTERPRISE_TOPIC: self.enterprises,
            PARTNER_TOPIC: self.partners,
            MOU_TOPIC: self.mous,
        }

    async def load(self, items: Sequence[tuple[Any, EnvelopeAttributes]]) -> None:
        """Read every aggregate a batch's events concern, one read per replica."""
        subjects: dict[str, list[str]] = {}
        for event, meta in items:
            if type(event).TOPIC in self._by_topic:
                subjects.setdefault(type(event).TOPIC, []).append(meta.subject)
        for topic, keys in subjects.items():
            await self._by_topic[topic].load(keys)

    async def flush(self) -> None:
        for view in self._by_topic.values():
            await view.flush()
