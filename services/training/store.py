"""Training persistence: collections and repositories over the store port.

Besides its own records the service keeps replicas learned from registry events:
enterprises (to link participants and mentees to an NIB) and MoU coverage (one document
per MoU and party, to gate mentor assignments).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pydantic_core import to_jsonable_python

from ikmkit.store import CollectionSpec, Document, In, Page, Transaction
from services.training.domain import (
    Course,
    Enrollment,
    EnrollmentStatus,
    MentorAssignment,
    MoUCoverage,
)

COURSES = "courses"
ENROLLMENTS = "enrollments"
CERTIFICATES = "certificates"
PLACEMENTS = "placements"
ENTERPRISES = "enterprise_replica"
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
    CollectionSpec(ENTERPRISES),
    CollectionSpec(MOU_COVERAGE, indexes=[("partner_id", "scope"), ("mou_id",)]),
    CollectionSpec(
        ASSIGNMENTS, indexes=[("nib", "status"), ("partner_id", "status"), ("mou_id", "status")]
    ),
)


def _doc(model: Course | Enrollment | MentorAssignment | MoUCoverage, doc_id: str) -> Document:
    return {"id": doc_id, **model.model_dump(mode="json")}


class CourseRepository:
    def __init__(self, uow: Transaction) -> None:
        self._uow = uow

    async def get(self, course_id: str) -> Course | None:
        doc = await self._uow.get(COURSES, course_id)
        return None if doc is None else Course.model_validate(doc)

    async def add(self, course: Course) -> Course:
        doc = _doc(course, course.course_id)
        doc.pop("version")
        return Course.model_validate(await self._uow.insert(COURSES, doc))

    async def save(self, course: Course) -> Course:
        return Course.model_validate(
            await self._uow.replace(COURSES, _doc(course, course.course_id))
        )

    async def find(
        self, where: dict[str, Any], *, limit: int, cursor: str | None
    ) -> tuple[list[Course], str | None]:
        page = await self._uow.find(
            COURSES, where, order_by=[("start_date", 1)], limit=limit, cursor=cursor
        )
        return [Course.model_validate(d) for d in page.items], page.next_cursor


class EnrollmentRepository:
    def __init__(self, uow: Transaction) -> None:
        self._uow = uow

    async def get(self, enrollment_id: str) -> Enrollment | None:
        doc = await self._uow.get(ENROLLMENTS, enrollment_id)
        return None if doc is None else Enrollment.model_validate(doc)

    async def get_many(self, ids: Sequence[str]) -> dict[str, Enrollment]:
        found = await self._uow.get_many(ENROLLMENTS, ids)
        return {k: Enrollment.model_validate(v) for k, v in found.items()}

    async def add_many(self, enrollments: Sequence[Enrollment]) -> None:
        docs = []
        for e in enrollments:
            doc = _doc(e, e.id)
            doc.pop("version")
            docs.append(doc)
        if docs:
            await self._uow.insert_many(ENROLLMENTS, docs)

    async def save(self, enrollment: Enrollment) -> Enrollment:
        stored = await self._uow.replace(ENROLLMENTS, _doc(enrollment, enrollment.id))
        return Enrollment.model_validate(stored)

    async def set_attendance(
        self, session_id: str, marks: Sequence[tuple[Enrollment, bool]]
    ) -> None:
        """Writes each participant's attendance map with one bulk patch per distinct result
        (usually two: present and absent), not one write per participant."""
        groups: dict[str, tuple[dict[str, bool], list[str]]] = {}
        for enrollment, present in marks:
            attended = {**enrollment.attended, session_id: present}
            key = json.dumps(attended, sort_keys=True)
            groups.setdefault(key, (attended, []))[1].append(enrollment.id)
        for attended, ids in groups.values():
            await self._uow.patch_many(ENROLLMENTS, ids, {"attended": attended})

    async def mark_completed(self, ids: Sequence[str], at: datetime) -> None:
        """Completed; the certificate number lives on the certificate (``with_certificates``)."""
        fields = {"status": "completed", "completed_at": to_jsonable_python(at)}
        await self._uow.patch_many(ENROLLMENTS, ids, fields)

    async def mark_not_completed(self, ids: Sequence[str]) -> None:
        await self._uow.patch_many(ENROLLMENTS, ids, {"status": "not_completed"})

    async def with_certificates(
        self, course_id: str, enrollments: Sequence[Enrollment]
    ) -> list[Enrollment]:
        """Fills in the certificate number of completed participants from their certificates."""
        pids = [e.participant_id for e in enrollments if e.status == "completed"]
        if not pids:
            return list(enrollments)
        page = await self._uow.find(
            CERTIFICATES,
            {"course_id": course_id, "participant_id": In(pids)},
            limit=len(pids),
        )
        numbers = {d["participant_id"]: d["id"] for d in page.items}
        return [
            e.model_copy(update={"certificate_number": numbers[e.participant_id]})
            if e.participant_id in numbers
            else e
            for e in enrollments
        ]

    async def first_waitlisted(self, course_id: str) -> Enrollment | None:
        page = await self._uow.find(
            ENROLLMENTS,
            {"course_id": course_id, "status": "waitlisted"},
            order_by=[("seq", 1)],
            limit=1,
        )
        return Enrollment.model_validate(page.items[0]) if page.items else None

    async def in_course(
        self,
        course_id: str,
        statuses: Sequence[EnrollmentStatus],
        *,
        limit: int = 1000,
        cursor: str | None = None,
    ) -> tuple[list[Enrollment], str | None]:
        page: Page = await self._uow.find(
            ENROLLMENTS,
            {"course_id": course_id, "status": In(list(statuses))},
            order_by=[("seq", 1)],
            limit=limit,
            cursor=cursor,
        )
        return [Enrollment.model_validate(d) for d in page.items], page.next_cursor


class EnterpriseReplica:
    """NIB -> name, province, status, from the registry's enterprise events."""

    def __init__(self, uow: Transaction) -> None:
        self._uow = uow

    async def get(self, nib: str) -> Document | None:
        return await self._uow.get(ENTERPRISES, nib)

    async def get_many(self, nibs: Sequence[str]) -> dict[str, Document]:
        return await self._uow.get_many(ENTERPRISES, list(dict.fromkeys(nibs)))

    async def upsert(self, nib: str, fields: dict[str, Any]) -> None:
        existing = await self._uow.get(ENTERPRISES, nib)
        if existing is None:
            await self._uow.insert(ENTERPRISES, {"id": nib, **fields})
        else:
            await self._uow.replace(ENTERPRISES, {**existing, **fields})


class MoUCoverageRepository:
    def __init__(self, uow: Transaction) -> None:
        self._uow = uow

    async def of_mou(self, mou_id: str) -> list[MoUCoverage]:
        page = await self._uow.find(MOU_COVERAGE, {"mou_id": mou_id}, limit=1000)
        return [MoUCoverage.model_validate(d) for d in page.items]

    async def of_partner(self, partner_id: str) -> list[MoUCoverage]:
        page = await self._uow.find(MOU_COVERAGE, {"partner_id": partner_id}, limit=1000)
        return [MoUCoverage.model_validate(d) for d in page.items]

    async def put(self, coverage: MoUCoverage) -> None:
        existing = await self._uow.get(MOU_COVERAGE, coverage.id)
        doc = _doc(coverage, coverage.id)
        if existing is None:
            doc.pop("version")
            await self._uow.insert(MOU_COVERAGE, doc)
        else:
            await self._uow.replace(MOU_COVERAGE, {**doc, "version": existing["version"]})


class AssignmentRepository:
    def __init__(self, uow: Transaction) -> None:
        self._uow = uow

    async def get(self, assignment_id: str) -> MentorAssignment | None:
        doc = await self._uow.get(ASSIGNMENTS, assignment_id)
        return None if doc is None else MentorAssignment.model_validate(doc)

    async def add(self, assignment: MentorAssignment) -> MentorAssignment:
        doc = _doc(assignment, assignment.id)
        doc.pop("version")
        return MentorAssignment.model_validate(await self._uow.insert(ASSIGNMENTS, doc))

    async def save(self, assignment: MentorAssignment) -> MentorAssignment:
        stored = await self._uow.replace(ASSIGNMENTS, _doc(assignment, assignment.id))
        return MentorAssignment.model_validate(stored)

    async def active_under(self, mou_id: str) -> list[MentorAssignment]:
        page = await self._uow.find(
            ASSIGNMENTS, {"mou_id": mou_id, "status": "active"}, limit=10_000
        )
        return [MentorAssignment.model_validate(d) for d in page.items]

    async def find(
        self, where: dict[str, Any], *, limit: int, cursor: str | None
    ) -> tuple[list[MentorAssignment], str | None]:
        page = await self._uow.find(
            ASSIGNMENTS, where, order_by=[("assigned_at", -1)], limit=limit, cursor=cursor
        )
        return [MentorAssignment.model_validate(d) for d in page.items], page.next_cursor
