"""What the subsidy service knows of enterprises: a sequenced replica of the registry's
enterprise events (``ikm.registry.enterprise.v1``), enough to judge eligibility.

Every event type on that topic has a function here (``consumers.HANDLERS`` maps them); those
that tell eligibility nothing only move the replica's sequence on (``unchanged``), so a missing
event is a ``SequenceGap`` (dead letter) rather than a silently stale enterprise.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from pydantic import ConfigDict

from contracts.base import Event
from contracts.envelope import EnvelopeAttributes
from contracts.registry import (
    Directorate,
    EnterpriseClassChanged,
    EnterpriseRegistered,
    EnterpriseReinstated,
    EnterpriseSuspended,
    EnterpriseUpdated,
    EnterpriseVerified,
)
from ikmkit.messaging.replica import Replicated, SequencedReplica, SequenceGap
from ikmkit.store import Transaction

EnterpriseStatus = Literal["registered", "active", "suspended"]


class EnterpriseReplica(Replicated):
    """An enterprise as the registry's events describe it."""

    model_config = ConfigDict(frozen=True)

    nib: str
    name: str
    province: str
    regency: str
    kbli: str
    directorate: Directorate
    size_class: str
    status: EnterpriseStatus = "registered"


ENTERPRISES = SequencedReplica("enterprises", EnterpriseReplica)


def _existing(meta: EnvelopeAttributes) -> Callable[[EnterpriseReplica | None], EnterpriseReplica]:
    def check(current: EnterpriseReplica | None) -> EnterpriseReplica:
        if current is None:
            raise SequenceGap(
                f"{ENTERPRISES.collection}/{meta.subject}: event {meta.id} ({meta.type})"
                " before the enterprise's registration"
            )
        return current

    return check


async def _update(
    tx: Transaction, meta: EnvelopeAttributes, changes: dict[str, Any]
) -> EnterpriseReplica | None:
    """Apply ``changes``; the new replica, or None if this event was applied before."""
    existing = _existing(meta)
    return await ENTERPRISES.apply(
        tx, meta, lambda current: existing(current).model_copy(update=changes)
    )


async def registered(
    event: EnterpriseRegistered, meta: EnvelopeAttributes, tx: Transaction
) -> None:
    replica = EnterpriseReplica(
        nib=event.nib,
        name=event.name,
        province=event.province,
        regency=event.regency,
        kbli=event.kbli,
        directorate=event.directorate,
        size_class=event.size_class,
    )
    await ENTERPRISES.apply(tx, meta, lambda _: replica)


async def updated(event: EnterpriseUpdated, meta: EnvelopeAttributes, tx: Transaction) -> None:
    changes = {
        "name": event.name,
        "regency": event.regency,
        "kbli": event.kbli,
        "directorate": event.directorate,
        "size_class": event.size_class,
    }
    await _update(tx, meta, changes)


async def verified(event: EnterpriseVerified, meta: EnvelopeAttributes, tx: Transaction) -> None:
    await _update(tx, meta, {"status": "active"})


async def class_changed(
    event: EnterpriseClassChanged, meta: EnvelopeAttributes, tx: Transaction
) -> None:
    await _update(tx, meta, {"size_class": event.new_class})


async def suspended(
    event: EnterpriseSuspended, meta: EnvelopeAttributes, tx: Transaction
) -> EnterpriseReplica | None:
    """The replica, suspended; None if this suspension was applied before."""
    return await _update(tx, meta, {"status": "suspended"})


async def reinstated(
    event: EnterpriseReinstated, meta: EnvelopeAttributes, tx: Transaction
) -> EnterpriseReplica | None:
    """Back to the status before the suspension (an unverified one stays unverified)."""
    status = "registered" if event.status == "registered" else "active"
    return await _update(tx, meta, {"status": status})


async def unchanged(event: Event, meta: EnvelopeAttributes, tx: Transaction) -> None:
    """An enterprise event that tells eligibility nothing (a marketplace store...)."""
    await ENTERPRISES.advance(tx, meta)
