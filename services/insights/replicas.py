"""What insights must remember of other services' aggregates, because a later event does not
carry it (``ikmkit.messaging.replica``): an enterprise's status, place and class (to move it
between the active and suspended stocks), a partner's type and province (to tell the SMK and
the companies of a link-and-match MoU), an MoU's scope and place (to end it in the stock it
was counted in).

Every event type of these topics reaches ``apply``: the types a replica does not use (and any
type added to the topic later) still advance its sequence, so a missing event is noticed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

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
from ikmkit.messaging.replica import Replicated, SequencedReplica
from ikmkit.store import Transaction
from services.insights.domain.tally import Position
from services.insights.store import ENTERPRISE_REPLICA, MOU_REPLICA, PARTNER_REPLICA

REPLICATED_TOPICS = (ENTERPRISE_TOPIC, PARTNER_TOPIC, MOU_TOPIC)

STOCK_OF_STATUS = {"active": "enterprises.active", "suspended": "enterprises.suspended"}


class EnterpriseReplica(Replicated):
    status: str = "registered"
    province: str
    regency: str | None = None
    size_class: str | None = None
    directorate: str | None = None
    kbli: str | None = None
    campaigns: list[str] = []

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
            "campaigns": list(dict.fromkeys([*known, *event.campaigns])),
        }
    if isinstance(event, EnterpriseClassChanged):
        fields["size_class"] = event.new_class
    status = _STATUS_AFTER.get(type(event))
    if status is not None:
        fields["status"] = status(event)
    if current is None:
        return EnterpriseReplica(**{"province": "-", **fields})
    return current.model_copy(update=fields)


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
        return known.model_copy(update={"status": "expired"})
    if isinstance(event, MoUTerminated):
        return known.model_copy(update={"status": "terminated"})
    return known


def party_ids(event: MoUSigned) -> list[str]:
    """The partners that signed (never the ministry, which signs every MoU, nor a witness)."""
    ids = [p.partner_id for p in event.parties if p.role == "party"]
    return [i for i in dict.fromkeys(ids) if i != MINISTRY_PARTY_ID]


async def track[M: Replicated](
    replica: SequencedReplica[M],
    tx: Transaction,
    meta: EnvelopeAttributes,
    change: Callable[[M | None], M],
) -> tuple[M | None, M] | None:
    """Apply an event to a replica: (before, after), or None if it was applied already."""
    seen: list[M | None] = []

    def remembered(current: M | None) -> M:
        seen.append(current)
        return change(current)

    after = await replica.apply(tx, meta, remembered)
    return None if after is None else (seen[0], after)
