"""Mentor assignments end with their MoU: the registry's MoUExpired ends them (also when it
arrives late), and no new assignment is accepted past the MoU's valid_until even before
MoUExpired arrives. Use cases on both real stores (the Kafka path is in
test_training_service.py)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime

import pytest

from contracts.registry import MoUExpired, MoUParty
from ikmkit.clock import fixed_clock
from ikmkit.messaging.outbox import OUTBOX_COLLECTIONS, Outbox
from ikmkit.service.errors import Conflict
from ikmkit.store import Store
from services.training import queries
from services.training.bootstrap import Training, bootstrap
from services.training.commands import AssignMentor
from services.training.handlers import mentoring
from services.training.settings import TrainingSettings
from services.training.store import COLLECTIONS
from tests.support.training_units import MINISTRY, deliver, mou_signed, registered

VALID_FROM = date(2024, 1, 1)
VALID_UNTIL = date(2024, 12, 31)
OUTBOX = Outbox("/ikm/training")


@pytest.fixture
async def store(fresh_store: Store) -> AsyncIterator[Store]:
    await fresh_store.open([*COLLECTIONS, *OUTBOX_COLLECTIONS])
    yield fresh_store


def training_at(store: Store, day: date) -> Training:
    """The service's dependencies with its clock fixed at 09:00 UTC on ``day``."""
    return bootstrap(store, OUTBOX, TrainingSettings(), clock=fixed_clock(_at(day)))


async def _signed_mou_and_enterprise(store: Store, nib: str, partner: str, mou_id: str) -> None:
    units = training_at(store, VALID_FROM).units
    await deliver(units, registered(nib))
    await deliver(units, mou_signed(mou_id, VALID_FROM, VALID_UNTIL, partner))


def _at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 9, tzinfo=UTC)


async def test_assignments_end_with_the_mou_and_none_start_after_it(store: Store) -> None:
    nib = str(uuid.uuid4().int)[:13]
    partner = f"pii-bkti-{uuid.uuid4().hex[:6]}"
    mou_id = f"mou-{uuid.uuid4().hex[:8]}"
    await _signed_mou_and_enterprise(store, nib, partner, mou_id)
    cmd = AssignMentor(nib=nib, partner_id=partner, mentor_name="Ir. Bambang")
    june, january = training_at(store, date(2024, 6, 1)), training_at(store, date(2025, 1, 1))

    made = await june.units.run(mentoring.assign_mentor, cmd, MINISTRY)
    assert (made.status, made.ends_on) == ("active", VALID_UNTIL)

    # Past valid_until the MoU no longer covers the partner, whether MoUExpired came or not.
    with pytest.raises(Conflict) as refused:
        await january.units.run(mentoring.assign_mentor, cmd, MINISTRY)
    assert (refused.value.field, refused.value.rule) == ("partner_id", "mou_expired")

    in_term = await june.units.read(queries.stats, MINISTRY)
    after_term = await january.units.read(queries.stats, MINISTRY)
    assert (in_term.active_mentor_assignments, after_term.active_mentor_assignments) == (1, 0)

    # MoUExpired, even a late one, ends what is still active under the MoU.
    expired_at = _at(date(2025, 1, 20))
    expired = MoUExpired(
        mou_id=mou_id,
        scope="technical_assistance",
        parties=[MoUParty(partner_id="ministry"), MoUParty(partner_id=partner)],
        valid_until=VALID_UNTIL,
        expired_at=expired_at,
    )
    await deliver(training_at(store, date(2025, 1, 20)).units, expired, 2)
    ended = await june.units.read(queries.get_assignment, made.id, MINISTRY)
    assert (ended.status, ended.end_reason, ended.ended_at) == ("ended", "mou_expired", expired_at)
    async with store.transaction() as uow:
        stream = await uow.find("outbox", {"key": made.id}, order_by=[("sequence", 1)])
    assert [row["headers"]["ce_type"].rsplit(".", 2)[-2] for row in stream.items] == [
        "MentorAssigned",
        "MentorAssignmentEnded",
    ]
    with pytest.raises(Conflict) as refused:
        await training_at(store, date(2024, 6, 2)).units.run(mentoring.assign_mentor, cmd, MINISTRY)
    assert refused.value.rule == "mou_expired"
    in_term = await june.units.read(queries.stats, MINISTRY)
    assert in_term.active_mentor_assignments == 0
