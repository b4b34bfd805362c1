"""Who is told about which event, on which channels: the rule table. Pure, no I/O.

Adding a notification is one entry in ``RULES`` plus its template
(``templates/<lang>/<EventName>.j2``). Webhook subscribers are matched
separately (any event type, see ``webhooks.Subscription.wants``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from contracts import registry as reg
from contracts import subsidy as sub
from contracts import training as trn
from contracts.base import Event
from contracts.catalog import EVENTS_BY_NAME
from contracts.envelope import EnvelopeAttributes
from contracts.notify import DELIVERY_TOPIC, Channel, enterprise_recipient
from services.notify.domain.model import (
    IN_APP,
    MINISTRY,
    Contact,
    Notification,
    participant_recipient,
    partner_recipient,
    recipient_kind,
    regional_recipient,
)

Recipients = Callable[[Any], list[str]]


@dataclass(frozen=True)
class Audience:
    who: str
    recipients: Recipients
    channels: tuple[Channel, ...]


def owner(*channels: Channel) -> Audience:
    """The enterprise's owner (contact from the replica, keyed by NIB)."""
    return Audience("owner", lambda e: [enterprise_recipient(e.nib)], channels)


def regional_officers(*channels: Channel) -> Audience:
    """The province's Disperindag officers; e-mail only where an address is configured."""
    return Audience(
        "regional officers",
        lambda e: [regional_recipient(e.province)] if e.province else [],
        channels,
    )


def ministry(*channels: Channel) -> Audience:
    return Audience("ministry", lambda e: [MINISTRY], channels)


def parties(*channels: Channel) -> Audience:
    """Every party and witness of an MoU (the ministry reads its own in-app messages)."""
    return Audience(
        "MoU parties",
        lambda e: [
            MINISTRY if p.partner_id == MINISTRY else partner_recipient(p.partner_id)
            for p in e.parties
        ],
        channels,
    )


def partner(*channels: Channel) -> Audience:
    return Audience("partner", lambda e: [partner_recipient(e.partner_id)], channels)


def participant(*channels: Channel) -> Audience:
    return Audience("participant", lambda e: [participant_recipient(e.participant_id)], channels)


@dataclass(frozen=True)
class Rule:
    event: type[Event]
    audiences: tuple[Audience, ...]

    @property
    def template(self) -> str:
        return self.event.__name__


EMAIL_AND_IN_APP: tuple[Channel, ...] = ("email", IN_APP)

_TABLE: tuple[Rule, ...] = (
    # registry
    Rule(reg.EnterpriseRegistered, (owner(*EMAIL_AND_IN_APP), regional_officers(IN_APP, "email"))),
    Rule(reg.EnterpriseVerified, (owner(*EMAIL_AND_IN_APP),)),
    Rule(reg.EnterpriseSuspended, (owner(*EMAIL_AND_IN_APP), regional_officers(IN_APP))),
    Rule(reg.EnterpriseReinstated, (owner(*EMAIL_AND_IN_APP), regional_officers(IN_APP))),
    Rule(reg.EnterpriseClassChanged, (owner(*EMAIL_AND_IN_APP), regional_officers(IN_APP))),
    Rule(reg.EnterpriseOnboardedToMarketplace, (owner(IN_APP),)),
    Rule(reg.PartnerRegistered, (partner("email"),)),
    Rule(reg.MoUSigned, (parties(*EMAIL_AND_IN_APP),)),
    Rule(reg.MoUExpired, (parties(*EMAIL_AND_IN_APP),)),
    Rule(reg.MoUTerminated, (parties(*EMAIL_AND_IN_APP),)),
    # subsidy
    Rule(sub.SubsidyApplied, (owner(IN_APP), regional_officers(IN_APP))),
    Rule(sub.SubsidyApproved, (owner(*EMAIL_AND_IN_APP), regional_officers(IN_APP))),
    Rule(sub.SubsidyRejected, (owner(*EMAIL_AND_IN_APP),)),
    Rule(sub.SubsidyDisbursed, (owner(*EMAIL_AND_IN_APP),)),
    Rule(sub.SubsidyCancelled, (owner(*EMAIL_AND_IN_APP),)),
    Rule(sub.SubsidyOnHold, (owner(IN_APP),)),
    Rule(sub.SubsidyResumed, (owner(IN_APP),)),
    Rule(sub.BudgetExhausted, (ministry(IN_APP), regional_officers(IN_APP, "email"))),
    # training
    Rule(trn.ParticipantEnrolled, (participant(*EMAIL_AND_IN_APP),)),
    Rule(trn.ParticipantWaitlisted, (participant(*EMAIL_AND_IN_APP),)),
    Rule(trn.EnrollmentCancelled, (participant(*EMAIL_AND_IN_APP),)),
    Rule(trn.TrainingCompleted, (participant(IN_APP),)),
    Rule(trn.CertificateIssued, (participant(*EMAIL_AND_IN_APP),)),
    Rule(trn.PlacementRecorded, (participant(IN_APP),)),
    Rule(trn.MentorAssigned, (owner(*EMAIL_AND_IN_APP), partner(*EMAIL_AND_IN_APP))),
    Rule(trn.MentorAssignmentEnded, (owner(*EMAIL_AND_IN_APP), partner(*EMAIL_AND_IN_APP))),
)

RULES: dict[type[Event], Rule] = {rule.event: rule for rule in _TABLE}


def deliveries_for(event: Event) -> list[tuple[str, Channel]]:
    """(recipient, channel) pairs the rule table asks for, without duplicates, in table order."""
    rule = RULES.get(type(event))
    if rule is None:
        return []
    pairs = [
        (recipient, channel)
        for audience in rule.audiences
        for recipient in audience.recipients(event)
        for channel in audience.channels
    ]
    return list(dict.fromkeys(pairs))


_REPLICATED = ("enterprise", "partner", "participant")


def may_email(recipient: str, contact: Contact | None) -> bool:
    """E-mail whoever has an address; replicated recipients also before their contact arrives
    (events of different topics are unordered: the address is resolved again when sending)."""
    if contact is not None:
        return contact.email is not None
    return recipient_kind(recipient) in _REPLICATED


def notifications_for(
    event: Event,
    meta: EnvelopeAttributes,
    contact_of: Callable[[str], Contact | None],
    at: datetime,
    pairs: list[tuple[str, Channel]] | None = None,
) -> list[Notification]:
    """The notifications the rule table asks for, to the contacts known when deciding
    (``pairs``: ``deliveries_for(event)``, when the caller has it already)."""
    pairs = deliveries_for(event) if pairs is None else pairs
    if not pairs:
        return []
    subject, event_type, data = data_subject(event), type(event).__name__, event.model_dump_json()
    made: list[Notification] = []
    for recipient, channel in pairs:
        contact = contact_of(recipient)
        if channel == "email" and not may_email(recipient, contact):
            continue
        made.append(
            Notification.to_recipient(
                meta,
                event_type,
                recipient,
                channel,
                contact=contact,
                data=data,
                is_subject=recipient == subject,
                at=at,
            )
        )
    return made


def data_subject(event: Event) -> str | None:
    """Whose personal data the event carries: only they see it unmasked."""
    if isinstance(event, trn._ParticipantEvent):
        return participant_recipient(event.participant_id)
    nib = getattr(event, "nib", None)
    return enterprise_recipient(nib) if isinstance(nib, str) else None


def contacts_in(event: Event) -> list[Contact]:
    """Contact details an event teaches the replica (registry owners, partners, participants)."""
    if isinstance(event, reg.EnterpriseRegistered | reg.EnterpriseUpdated):
        if event.owner is None:
            return []
        return [
            Contact(
                recipient=enterprise_recipient(event.nib),
                name=event.owner.name,
                email=event.owner.email,
                phone=event.owner.phone,
                language=event.owner.preferred_language,
                organisation=event.name,
                province=event.province,
            )
        ]
    if isinstance(event, reg.PartnerRegistered):
        return [
            Contact(
                recipient=partner_recipient(event.partner_id),
                name=event.name,
                email=event.contact_email,
                language=event.preferred_language,
                organisation=event.name,
                province=event.province,
            )
        ]
    if isinstance(event, trn._ParticipantEvent):
        return [
            Contact(
                recipient=participant_recipient(event.participant_id),
                name=event.participant_name,
                email=event.participant_email,
                language=event.preferred_language,
                province=event.province,
            )
        ]
    return []


def consumed_events() -> list[type[Event]]:
    """Every other service's event: rules, the replica, and webhook subscribers may want any."""
    return [
        model
        for name, model in sorted(EVENTS_BY_NAME.items())
        if not name.startswith("_") and model.TOPIC != DELIVERY_TOPIC
    ]


SUBSCRIBABLE: frozenset[str] = frozenset(model.__name__ for model in consumed_events())
"""The event types a webhook subscription may name: those notify consumes (not its own)."""
