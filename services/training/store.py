"""Training persistence: its collections, one repository per kind of record, and the unit of
work that holds them.

Besides its own records the service keeps replicas learned from registry events
(``replicas.py``): enterprises (to link participants and mentees to an NIB) and MoUs, with an
index of the MoUs by partner (``mou_coverage``) to gate mentor assignments."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pydantic_core import to_jsonable_python

from ikmkit.store import CollectionSpec, In, Transaction
from ikmkit.store.repository import Repository
from ikmkit.unit_of_work import UnitOfWork
from services.training.domain.mentoring import MentorAssignment, MoUCoverage
from services.training.domain.model import Course
from services.training.domain.participants import (
    Certificate,
    Enrollment,
    EnrollmentStatus,
    Placement,
)

COURSES = "courses"
ENROLLMENTS = "enrollments"
CERTIFICATES = "certificates"
PLACEMENTS = "placements"
ENTERPRISE_REPLICA = "enterprise_replica"
MOU_REPLICA = "mou_replica"
MOU_COVERAGE = "mou_coverage"
ASSIGNMENTS = "mentor_assignments"

COLLECTIONS = (
    CollectionSpec(
        COURSES, indexes=[("kind", "start_date"), ("province", "start_date"), ("start_date",)]
    ),
    CollectionSpec(
        ENROLLMENTS,
        indexes=[("course_id", "status", "seq"), ("participant_id",), ("status", "country")],
    ),
    CollectionSpec(CERTIFICATES, indexes=[("course_id", "participant_id")]),
    CollectionSpec(PLACEMENTS, indexes=[("company_partner_id",)]),
    CollectionSpec(ENTERPRISE_REPLICA),
    CollectionSpec(MOU_REPLICA),
    CollectionSpec(MOU_COVERAGE, indexes=[("partner_id", "scope"), ("mou_id",)]),
    CollectionSpec(
        ASSIGNMENTS,
        indexes=[("nib", "status"), ("partner_id", "status"), ("mou_id", "status")],
        times=("assigned_at",),  # ordered by as stored text (ikmkit.store.times)
    ),
)

PAGE_ALL = 2000


class CourseRepository(Repository[Course]):
    collection = COURSES
    model = Course
    id_field = "course_id"
    what = "course"


class EnrollmentRepository(Repository[Enrollment]):
    collection = ENROLLMENTS
    model = Enrollment
    id_field = "id"
    what = "enrollment"

    async def in_course(
        self,
        course_id: str,
        statuses: Sequence[EnrollmentStatus],
        *,
        limit: int = 1000,
        cursor: str | None = None,
    ) -> tuple[list[Enrollment], str | None]:
        where = {"course_id": course_id, "status": In(list(statuses))}
        return await self.page(where, order_by=[("seq", 1)], limit=limit, cursor=cursor)

    async def all_in_course(self, course_id: str, status: EnrollmentStatus) -> list[Enrollment]:
        found: list[Enrollment] = []
        cursor: str | None = None
        while True:
            page, cursor = await self.in_course(course_id, [status], limit=PAGE_ALL, cursor=cursor)
            found += page
            if cursor is None:
                return found

    async def first_waitlisted(self, course_id: str) -> Enrollment | None:
        page, _ = await self.in_course(course_id, ["waitlisted"], limit=1)
        return page[0] if page else None

    async def set_attendance(self, marked: Sequence[Enrollment]) -> None:
        """Writes the attendance maps with one bulk patch per distinct map (usually two:
        present and absent), not one write per participant."""
        groups: dict[str, tuple[dict[str, bool], list[str]]] = {}
        for enrollment in marked:
            key = json.dumps(enrollment.attended, sort_keys=True)
            groups.setdefault(key, (enrollment.attended, []))[1].append(enrollment.id)
        for attended, ids in groups.values():
            await self.tx.patch_many(ENROLLMENTS, ids, {"attended": attended})

    async def close(
        self,
        passed: Sequence[Enrollment],
        failed: Sequence[Enrollment],
        released: Sequence[Enrollment] = (),
    ) -> None:
        """A closed course's participants in bulk patches (the certificate number lives on
        the certificate: ``with_certificates``); its waitlist ``released``."""
        await self.tx.patch_many(ENROLLMENTS, [e.id for e in failed], {"status": "not_completed"})
        if released:
            left = {
                "status": "cancelled",
                "cancelled_at": to_jsonable_python(released[0].cancelled_at),
            }
            await self.tx.patch_many(ENROLLMENTS, [e.id for e in released], left)
        if passed:
            at: datetime | None = passed[0].completed_at
            fields = {"status": "completed", "completed_at": to_jsonable_python(at)}
            await self.tx.patch_many(ENROLLMENTS, [e.id for e in passed], fields)

    async def with_certificates(
        self, course_id: str, enrollments: Sequence[Enrollment]
    ) -> list[Enrollment]:
        """Fills in the certificate number of completed participants from their certificates."""
        pids = [e.participant_id for e in enrollments if e.status == "completed"]
        if not pids:
            return list(enrollments)
        where = {"course_id": course_id, "participant_id": In(pids)}
        page = await self.tx.find(CERTIFICATES, where, limit=len(pids))
        numbers = {d["participant_id"]: d["id"] for d in page.items}
        return [
            e.model_copy(update={"certificate_number": numbers[e.participant_id]})
            if e.participant_id in numbers
            else e
            for e in enrollments
        ]


class CertificateRepository(Repository[Certificate]):
    collection = CERTIFICATES
    model = Certificate
    id_field = "number"
    what = "certificate"


class PlacementRepository(Repository[Placement]):
    collection = PLACEMENTS
    model = Placement
    id_field = "id"
    what = "placement"


class AssignmentRepository(Repository[MentorAssignment]):
    collection = ASSIGNMENTS
    model = MentorAssignment
    id_field = "id"
    times = ("assigned_at",)
    what = "mentor assignment"

    async def active_under(self, mou_id: str) -> list[MentorAssignment]:
        found, _ = await self.page({"mou_id": mou_id, "status": "active"}, limit=10_000)
        return found

    async def active_of(self, nib: str, partner_id: str) -> list[MentorAssignment]:
        where = {"nib": nib, "partner_id": partner_id, "status": "active"}
        found, _ = await self.page(where, limit=1000)
        return found

    async def newest_first(
        self, where: dict[str, Any], *, limit: int, cursor: str | None
    ) -> tuple[list[MentorAssignment], str | None]:
        return await self.page(where, order_by=[("assigned_at", -1)], limit=limit, cursor=cursor)


class MoUCoverageRepository(Repository[MoUCoverage]):
    collection = MOU_COVERAGE
    model = MoUCoverage
    id_field = "id"
    what = "MoU coverage"

    async def of_partner(self, partner_id: str) -> list[MoUCoverage]:
        found, _ = await self.page({"partner_id": partner_id}, limit=1000)
        return found

    async def put(self, coverages: Sequence[MoUCoverage]) -> None:
        """Each coverage as given, over what was stored for it (derived from the MoU replica,
        which already decided the order of events)."""
        stored = await self.get_many([c.id for c in coverages])
        for coverage in coverages:
            before = stored.get(coverage.id)
            if before is None:
                await self.add(coverage)
            else:
                await self.save(coverage.model_copy(update={"version": before.version}))


class TrainingUnit(UnitOfWork):
    """A training unit of work: one transaction and the service's repositories."""

    def __init__(self, tx: Transaction) -> None:
        super().__init__(tx)
        self.courses = CourseRepository(tx)
        self.enrollments = EnrollmentRepository(tx)
        self.certificates = CertificateRepository(tx)
        self.placements = PlacementRepository(tx)
        self.assignments = AssignmentRepository(tx)
        self.coverage = MoUCoverageRepository(tx)
