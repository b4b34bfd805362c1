"""Mentors (pendamping teknis) under MoU: an assignment is accepted only while a signed,
valid technical-assistance MoU covers the partner, and it ends with that MoU."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Literal, Protocol

from pydantic import ConfigDict

from contracts.training import AssignmentEndReason, MentorAssigned, MentorAssignmentEnded
from contracts.values import EmailText, NibText, ProvinceText
from ikmkit.clock import jakarta_date
from ikmkit.service.errors import Conflict, InvalidInput
from ikmkit.store.repository import Versioned
from ikmkit.unit_of_work import Changed
from services.training.domain.rules import check_day

AssignmentStatus = Literal["active", "ended"]
MoUStatus = Literal["signed", "expired", "terminated"]
MENTOR_SCOPE = "technical_assistance"


class MoUCoverage(Versioned):
    """One MoU as it covers one of its parties (an index of the MoU replica by partner)."""

    model_config = ConfigDict(frozen=True)

    id: str
    mou_id: str
    partner_id: str
    scope: str
    status: MoUStatus
    valid_from: date | None = None
    valid_until: date | None = None


def covering_mou(
    coverages: list[MoUCoverage], partner_id: str, starts_on: date, today: date | None = None
) -> MoUCoverage:
    """The MoU that lets ``partner_id`` provide a mentor from ``starts_on``, or a refusal saying
    why not. The MoU must be in force on the first day and still be today: an assignment
    backdated into an MoU's term after that MoU ended would be a mentor under no MoU."""
    today = starts_on if today is None else today
    relevant = [c for c in coverages if c.partner_id == partner_id and c.scope == MENTOR_SCOPE]
    valid = [
        c
        for c in relevant
        if c.status == "signed"
        and c.valid_from is not None
        and c.valid_until is not None
        and c.valid_from <= starts_on <= c.valid_until
        and today <= c.valid_until
    ]
    if valid:
        return max(valid, key=lambda c: c.valid_until or starts_on)
    reason, rule = _refusal(relevant, starts_on)
    raise Conflict(f"mentor refused: {reason}", field="partner_id", rule=rule)


def _refusal(relevant: list[MoUCoverage], today: date) -> tuple[str, str]:
    if not relevant:
        return "no signed technical-assistance MoU covers this partner", "mou_required"
    if any(c.status == "terminated" for c in relevant) and not any(
        c.status == "signed" for c in relevant
    ):
        return "the partner's technical-assistance MoU was terminated", "mou_terminated"
    if any(c.status == "signed" and c.valid_from and c.valid_from > today for c in relevant):
        return "the partner's technical-assistance MoU is not in force yet", "mou_not_yet_valid"
    return "the partner's technical-assistance MoU has expired", "mou_expired"


class KnownEnterprise(Protocol):
    """What an assignment learns of its enterprise (the enterprise replica has it)."""

    @property
    def name(self) -> str | None: ...
    @property
    def province(self) -> str | None: ...
    @property
    def status(self) -> str: ...


def assignable(nib: str, enterprise: KnownEnterprise | None) -> KnownEnterprise:
    if enterprise is None:
        raise InvalidInput(
            f"NIB {nib} is not a registered enterprise (yet)", field="nib", rule="unknown_nib"
        )
    if enterprise.status == "suspended":
        raise Conflict("the enterprise is suspended", field="nib", rule="suspended")
    return enterprise


def _same_name(name: str) -> str:
    return " ".join(name.casefold().split())


def _refuse_twice(mentor_name: str, active: Sequence[MentorAssignment], starts_on: date) -> None:
    """One already running on ``starts_on`` (one past its MoU's term is over, whether the
    MoU's expiry reached this service or not)."""
    for assignment in active:
        running = assignment.status == "active" and assignment.ends_on >= starts_on
        if running and _same_name(assignment.mentor_name) == _same_name(mentor_name):
            raise Conflict(
                f"this mentor already assists the enterprise (assignment {assignment.id})",
                field="mentor_name",
                rule="duplicate_assignment",
            )


class MentorAssignment(Versioned):
    model_config = ConfigDict(frozen=True)

    id: str
    nib: NibText
    province: ProvinceText | None = None
    enterprise_name: str | None = None
    partner_id: str
    mou_id: str
    mentor_name: str
    mentor_email: EmailText | None = None
    starts_on: date
    ends_on: date
    status: AssignmentStatus = "active"
    end_reason: str | None = None
    assigned_by: str
    assigned_at: datetime
    ended_at: datetime | None = None

    @classmethod
    def assign(
        cls,
        *,
        assignment_id: str,
        nib: str,
        enterprise: KnownEnterprise | None,
        partner_id: str,
        mentor_name: str,
        mentor_email: str | None,
        starts_on: date,
        coverages: list[MoUCoverage],
        by: str,
        at: datetime,
        active: Sequence[MentorAssignment] = (),
    ) -> Changed[MentorAssignment]:
        """A mentor for a known, unsuspended enterprise, under the MoU covering the partner on
        the first day; the assignment lasts as long as that MoU. ``active``: the partner's
        assignments in force for that enterprise (the same mentor twice is refused)."""
        known = assignable(nib, enterprise)
        check_day(starts_on, "starts_on")
        mou = covering_mou(coverages, partner_id, starts_on, jakarta_date(at))
        _refuse_twice(mentor_name, active, starts_on)
        assert mou.valid_until is not None
        made = cls(
            id=assignment_id,
            nib=nib,
            province=known.province,
            enterprise_name=known.name,
            partner_id=partner_id,
            mou_id=mou.mou_id,
            mentor_name=" ".join(mentor_name.split()),
            mentor_email=mentor_email,
            starts_on=starts_on,
            ends_on=mou.valid_until,
            assigned_by=by,
            assigned_at=at,
        )
        fields = set(MentorAssigned.model_fields) - {"assignment_id"}
        event = MentorAssigned(assignment_id=made.id, **made.model_dump(include=fields))
        return Changed(made, (event,))

    def end(self, reason: AssignmentEndReason, at: datetime) -> Changed[MentorAssignment]:
        if self.status == "ended":
            raise Conflict(
                f"mentor assignment {self.id} already ended ({self.end_reason})",
                field="status",
                rule="assignment_ended",
            )
        ended = self.model_copy(update={"status": "ended", "end_reason": reason, "ended_at": at})
        event = MentorAssignmentEnded(
            assignment_id=self.id,
            nib=self.nib,
            province=self.province,
            partner_id=self.partner_id,
            mou_id=self.mou_id,
            reason=reason,
            ended_at=at,
        )
        return Changed(ended, (event,))
