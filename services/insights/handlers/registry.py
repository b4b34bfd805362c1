"""How the registry's events count: enterprises, partners, MoUs (and link-and-match)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel

from contracts.envelope import EnvelopeAttributes
from contracts.registry import (
    EnterpriseClassChanged,
    EnterpriseOnboardedToMarketplace,
    EnterpriseRegistered,
    EnterpriseUpdated,
    EnterpriseVerified,
    MoUExpired,
    MoUSigned,
    MoUTerminated,
    PartnerRegistered,
)
from contracts.values import campaign_key
from services.insights import replicas
from services.insights.domain.tally import Tally, reporting_date
from services.insights.replicas import EnterpriseReplica, MoUReplica
from services.insights.store import InsightsUnit, MoUParty

CLASS_RANK = {"small": 1, "medium": 2, "large": 3}
LINK_AND_MATCH = "vocational_link_and_match"
MEMBER_INDICATOR = {"vocational_school": "linkmatch.smk", "company": "linkmatch.companies"}


def domain_time(event: Any, meta: EnvelopeAttributes) -> datetime:
    """When the event happened in the domain: its first ``*_at`` field holding a time (an
    event type without one, e.g. added to the topic later: when it was published)."""
    for name in _time_fields(type(event)):
        value = getattr(event, name)
        if isinstance(value, datetime):
            return value
    return meta.time


def _time_fields(event_type: type[BaseModel]) -> tuple[str, ...]:
    """The ``*_at`` fields of an event type, in order (iterating a model's every field per
    event cost more than the rest of ``domain_time``)."""
    found = _TIME_FIELDS.get(event_type)
    if found is None:
        found = tuple(name for name in event_type.model_fields if name.endswith("_at"))
        _TIME_FIELDS[event_type] = found
    return found


_TIME_FIELDS: dict[type[BaseModel], tuple[str, ...]] = {}


async def count_enterprise_event(
    event: Any, meta: EnvelopeAttributes, uow: InsightsUnit, tally: Tally
) -> None:
    change = await uow.replicas.enterprises.apply(
        meta, lambda c: replicas.enterprise_after(event, c)
    )
    if change is None:
        return
    before, after = change
    at = domain_time(event, meta)
    tally.move(before.stock() if before else None, after.stock(), at)
    _count_enterprise_facts(event, before, after, at, tally)


def _count_enterprise_facts(
    event: Any,
    before: EnterpriseReplica | None,
    after: EnterpriseReplica,
    at: datetime,
    tally: Tally,
) -> None:
    where = (after.province, after.regency)
    if isinstance(event, EnterpriseRegistered):
        dims = {
            "size_class": after.size_class,
            "directorate": after.directorate,
            "kbli_division": (after.kbli or "")[:2] or None,
        }
        tally.add("enterprises.registered", at, *where, dimensions=dims)
    elif isinstance(event, EnterpriseVerified):
        dims = {"size_class": after.size_class}
        tally.add("enterprises.verified", at, *where, dimensions=dims)
    elif isinstance(event, EnterpriseClassChanged):
        if CLASS_RANK[event.new_class] > CLASS_RANK[event.previous_class]:
            dims = {"new_class": event.new_class}
            tally.add("enterprises.class_changes", at, *where, dimensions=dims)
    elif isinstance(event, EnterpriseOnboardedToMarketplace):
        tally.add("esmart.onboarded", at, *where, dimensions={"platform": event.platform})
    if isinstance(event, EnterpriseRegistered | EnterpriseUpdated):
        # By key: a replica an older release wrote holds the events' spellings.
        known = {campaign_key(c) for c in before.campaigns} if before is not None else set()
        for campaign in after.campaigns:
            if campaign not in known:
                tally.add("campaigns.participants", at, *where, dimensions={"campaign": campaign})


async def count_partner_event(
    event: Any, meta: EnvelopeAttributes, uow: InsightsUnit, tally: Tally
) -> None:
    change = await uow.replicas.partners.apply(meta, lambda c: replicas.partner_after(event, c))
    if change is None or not isinstance(event, PartnerRegistered):
        return
    at = event.registered_at
    dims = {"partner_type": event.partner_type}
    tally.add("partners.registered", at, event.province, dimensions=dims)
    indicator = MEMBER_INDICATOR.get(event.partner_type)
    if indicator is None:
        return
    # link-and-match MoUs this partner signed before its registration reached us
    for party in await uow.mou_parties.of_partner(event.partner_id):
        await uow.members.claim(tally, indicator, party.signed_on, event.partner_id, event.province)


async def count_mou_event(
    event: Any, meta: EnvelopeAttributes, uow: InsightsUnit, tally: Tally
) -> None:
    change = await uow.replicas.mous.apply(meta, lambda c: replicas.mou_after(event, meta, c))
    if change is None:
        return
    before, after = change
    at = domain_time(event, meta)
    tally.move(before.stock() if before else None, after.stock(), at)
    where = (after.province, after.regency)
    if isinstance(event, MoUSigned):
        tally.add("mous.signed", at, *where, dimensions={"scope": event.scope})
        if event.scope == LINK_AND_MATCH:
            tally.add("linkmatch.agreements", at, *where)
            await _link_and_match_parties(event, uow, tally)
    elif isinstance(event, MoUExpired | MoUTerminated) and _was_in_force(before):
        ended = "expired" if isinstance(event, MoUExpired) else "terminated"
        tally.add("mous.ended", at, *where, dimensions={"ended": ended})


def _was_in_force(before: MoUReplica | None) -> bool:
    return before is not None and before.status == "signed"


async def _link_and_match_parties(event: MoUSigned, uow: InsightsUnit, tally: Tally) -> None:
    signed_on = reporting_date(event.signed_at)  # the agreement's own month and year
    ids = replicas.party_ids(event)
    parties = [
        MoUParty(
            id=f"{pid}|{event.mou_id}", partner_id=pid, mou_id=event.mou_id, signed_on=signed_on
        )
        for pid in ids
    ]
    await uow.mou_parties.put(parties)
    known = await uow.replicas.partners.get_many(ids)
    for pid, partner in known.items():
        indicator = MEMBER_INDICATOR.get(partner.partner_type or "")
        if indicator is not None:
            await uow.members.claim(tally, indicator, signed_on, pid, partner.province)
