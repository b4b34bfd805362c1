"""What training learns from the registry's events, one sequenced copy per aggregate
(``ikmkit.messaging.replica``): enterprises (NIB -> name, province, status) and MoUs (scope,
term, status, parties), with the MoUs indexed by partner for the mentor gate.

Each consumer handles every event type of the topic it follows: events that change nothing
here still advance the replica's sequence, so a missing event is noticed, never guessed."""

from __future__ import annotations

from datetime import date

from contracts.envelope import EnvelopeAttributes
from contracts.registry import (
    MINISTRY_PARTY_ID,
    EnterpriseClassChanged,
    EnterpriseOnboardedToMarketplace,
    EnterpriseRegistered,
    EnterpriseReinstated,
    EnterpriseSuspended,
    EnterpriseUpdated,
    EnterpriseVerified,
    MoUExpired,
    MoUParty,
    MoUSigned,
    MoUTerminated,
)
from ikmkit.messaging.replica import Replicated, SequencedReplica
from services.training.domain.mentoring import MoUCoverage, MoUStatus
from services.training.store import ENTERPRISE_REPLICA, MOU_REPLICA, TrainingUnit

type EnterpriseEvent = (
    EnterpriseRegistered
    | EnterpriseUpdated
    | EnterpriseVerified
    | EnterpriseSuspended
    | EnterpriseReinstated
    | EnterpriseClassChanged
    | EnterpriseOnboardedToMarketplace
)
ENTERPRISE_EVENTS: tuple[type[EnterpriseEvent], ...] = (
    EnterpriseRegistered,
    EnterpriseUpdated,
    EnterpriseVerified,
    EnterpriseSuspended,
    EnterpriseReinstated,
    EnterpriseClassChanged,
    EnterpriseOnboardedToMarketplace,
)


class EnterpriseReplica(Replicated):
    """An enterprise as training knows it (keyed by its NIB): enough to link people and
    mentees to it."""

    name: str | None = None
    province: str
    status: str = "registered"


ENTERPRISES = SequencedReplica(ENTERPRISE_REPLICA, EnterpriseReplica)


def _enterprise_after(
    event: EnterpriseEvent, current: EnterpriseReplica | None
) -> EnterpriseReplica:
    known = current or EnterpriseReplica(province=event.province)
    fields: dict[str, str] = {"province": event.province}
    if isinstance(event, EnterpriseRegistered | EnterpriseUpdated):
        fields["name"] = event.name
    if isinstance(event, EnterpriseRegistered):
        fields["status"] = "registered"
    elif isinstance(event, EnterpriseVerified | EnterpriseReinstated):
        fields["status"] = "active"
    elif isinstance(event, EnterpriseSuspended):
        fields["status"] = "suspended"
    return known.model_copy(update=fields)


async def on_enterprise_event(
    event: EnterpriseEvent, meta: EnvelopeAttributes, uow: TrainingUnit
) -> None:
    """Keeps NIB -> name, province, status; the other facts of an enterprise only advance."""
    if isinstance(event, EnterpriseClassChanged | EnterpriseOnboardedToMarketplace):
        await ENTERPRISES.advance(uow.tx, meta)
        return
    await ENTERPRISES.apply(uow.tx, meta, lambda current: _enterprise_after(event, current))


class MoUReplica(Replicated):
    """An MoU as training knows it; its parties are the partners it covers (never the
    ministry, which signs every MoU, nor a witness)."""

    mou_id: str
    scope: str
    status: MoUStatus
    partners: list[str]
    valid_from: date | None = None
    valid_until: date | None = None

    def coverages(self) -> list[MoUCoverage]:
        return [
            MoUCoverage(
                id=f"{self.mou_id}|{partner}",
                mou_id=self.mou_id,
                partner_id=partner,
                scope=self.scope,
                status=self.status,
                valid_from=self.valid_from,
                valid_until=self.valid_until,
            )
            for partner in self.partners
        ]


MOUS = SequencedReplica(MOU_REPLICA, MoUReplica)


def _partners(parties: list[MoUParty]) -> list[str]:
    return [
        p.partner_id for p in parties if p.role == "party" and p.partner_id != MINISTRY_PARTY_ID
    ]


async def on_mou_signed(event: MoUSigned, meta: EnvelopeAttributes, uow: TrainingUnit) -> None:
    def signed(_: MoUReplica | None) -> MoUReplica:
        return MoUReplica(
            mou_id=event.mou_id,
            scope=event.scope,
            status="signed",
            partners=_partners(event.parties),
            valid_from=event.valid_from,
            valid_until=event.valid_until,
        )

    mou = await MOUS.apply(uow.tx, meta, signed)
    if mou is not None:
        await uow.coverage.put(mou.coverages())


async def apply_mou_ended(
    event: MoUExpired | MoUTerminated, meta: EnvelopeAttributes, uow: TrainingUnit
) -> MoUReplica | None:
    """The MoU no longer covers its parties; the MoU as now known, or None for a replay."""
    status: MoUStatus = "expired" if isinstance(event, MoUExpired) else "terminated"

    def ended(current: MoUReplica | None) -> MoUReplica:
        known = current or MoUReplica(
            mou_id=event.mou_id, scope=event.scope, status=status, partners=[]
        )
        partners = list(dict.fromkeys([*known.partners, *_partners(event.parties)]))
        return known.model_copy(update={"status": status, "partners": partners})

    mou = await MOUS.apply(uow.tx, meta, ended)
    if mou is not None:
        await uow.coverage.put(mou.coverages())
    return mou
