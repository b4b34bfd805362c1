"""Subsidy persistence: collections and repositories over the store port.

Every write is a ``replace`` of a versioned document, so two units of work that read the
same budget (or enterprise usage) and both try to reserve from it cannot both commit: the
second gets ``VersionConflict`` (or ``TransactionConflict`` on MongoDB) and is retried.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel

from ikmkit.store import CollectionSpec, In, Page, Transaction
from services.subsidy.domain import Application, Budget, EnterpriseReplica, Program, StatsCell

PROGRAMS = "programs"
BUDGETS = "budgets"
APPLICATIONS = "applications"
ENTERPRISES = "enterprises"
ENTERPRISE_USAGE = "enterprise_usage"

COLLECTIONS = (
    CollectionSpec(PROGRAMS, indexes=[("fiscal_year", "kind")]),
    CollectionSpec(BUDGETS, indexes=[("fiscal_year", "province"), ("program_id",)]),
    CollectionSpec(
        APPLICATIONS,
        indexes=[
            ("nib", "submitted_at"),
            ("province", "status", "submitted_at"),
            ("status", "submitted_at"),
            ("program_id",),
        ],
    ),
    CollectionSpec(ENTERPRISES, indexes=[("province",)]),
    CollectionSpec(ENTERPRISE_USAGE),
)


class _Repository[M: BaseModel]:
    collection: str
    model: type[M]

    def __init__(self, uow: Transaction) -> None:
        self._uow = uow

    async def get(self, doc_id: str) -> M | None:
        doc = await self._uow.get(self.collection, doc_id)
        return None if doc is None else self.model.model_validate(doc)

    async def add(self, item: M) -> M:
        stored = await self._uow.insert(self.collection, _doc(item))
        return self.model.model_validate(stored)

    async def save(self, item: M) -> M:
        """Write if nobody changed it since it was read (``VersionConflict`` otherwise)."""
        stored = await self._uow.replace(self.collection, _doc(item, keep_version=True))
        return self.model.model_validate(stored)


def _doc(item: BaseModel, *, keep_version: bool = False) -> dict[str, Any]:
    doc = item.model_dump(mode="json", exclude=set() if keep_version else {"version"})
    doc.setdefault("id", getattr(item, "nib", None))
    return doc


class ProgramRepository(_Repository[Program]):
    collection = PROGRAMS
    model = Program

    async def list(self, fiscal_year: int | None, kind: str | None) -> list[Program]:
        where: dict[str, Any] = {}
        if fiscal_year is not None:
            where["fiscal_year"] = fiscal_year
        if kind is not None:
            where["kind"] = kind
        page = await self._uow.find(PROGRAMS, where, order_by=[("created_at", 1)], limit=500)
        return [Program.model_validate(d) for d in page.items]


class BudgetRepository(_Repository[Budget]):
    collection = BUDGETS
    model = Budget

    async def add_all(self, budgets: Sequence[Budget]) -> None:
        await self._uow.insert_many(BUDGETS, [_doc(b) for b in budgets])

    async def matching(
        self, fiscal_year: int | None, provinces: Sequence[str | None]
    ) -> list[Budget]:
        where: dict[str, Any] = {}
        if fiscal_year is not None:
            where["fiscal_year"] = fiscal_year
        if provinces:
            where["province"] = In(list(provinces))
        budgets: list[Budget] = []
        cursor: str | None = None
        while True:
            page = await self._uow.find(
                BUDGETS, where, order_by=[("program_id", 1)], limit=500, cursor=cursor
            )
            budgets += [Budget.model_validate(d) for d in page.items]
            if page.next_cursor is None:
                return budgets
            cursor = page.next_cursor


class EnterpriseRepository(_Repository[EnterpriseReplica]):
    collection = ENTERPRISES
    model = EnterpriseReplica


class ApplicationRepository(_Repository[Application]):
    collection = APPLICATIONS
    model = Application

    async def record(self, app: Application, change_id: str) -> Application:
        """Save a change made by the use-case call ``change_id`` (see ``service.retrying``)."""
        return await self.save(app.model_copy(update={"last_change_id": change_id}))

    async def search(
        self,
        *,
        nib: str | None,
        status: str | None,
        province: str | None,
        limit: int,
        cursor: str | None,
    ) -> Page:
        where = {
            k: v
            for k, v in (("nib", nib), ("status", status), ("province", province))
            if v is not None
        }
        return await self._uow.find(
            APPLICATIONS, where, order_by=[("submitted_at", -1)], limit=limit, cursor=cursor
        )

    async def open_of(self, nib: str, statuses: Sequence[str]) -> list[Application]:
        page = await self._uow.find(
            APPLICATIONS, {"nib": nib, "status": In(list(statuses))}, limit=1000
        )
        return [Application.model_validate(d) for d in page.items]

    async def stats_cells(self, fiscal_year: int | None) -> list[StatsCell]:
        where = {} if fiscal_year is None else {"fiscal_year": fiscal_year}
        rows = await self._uow.group(
            APPLICATIONS,
            ["program_id", "province", "directorate", "status"],
            where,
            sums=["rebate_rupiah"],
        )
        return [
            StatsCell(
                program_id=str(r.key["program_id"]),
                province=str(r.key["province"]),
                directorate=str(r.key["directorate"]),
                status=str(r.key["status"]),
                count=r.count,
                rebate_rupiah=int(r.sums.get("rebate_rupiah", 0)),
            )
            for r in rows
        ]


class EnterpriseUsage:
    """How much rebate an enterprise has committed (approved or paid) in one program.

    A versioned counter document per (program, NIB), so the yearly cap holds under races.
    """

    def __init__(self, uow: Transaction) -> None:
        self._uow = uow

    @staticmethod
    def _id(program_id: str, nib: str) -> str:
        return f"{program_id}|{nib}"

    async def committed(self, program_id: str, nib: str) -> tuple[int, dict[str, Any] | None]:
        doc = await self._uow.get(ENTERPRISE_USAGE, self._id(program_id, nib))
        return (0 if doc is None else int(doc["committed_rupiah"])), doc

    async def set(
        self, program_id: str, nib: str, doc: dict[str, Any] | None, committed_rupiah: int
    ) -> None:
        if doc is None:
            await self._uow.insert(
                ENTERPRISE_USAGE,
                {"id": self._id(program_id, nib), "committed_rupiah": committed_rupiah},
            )
        else:
            await self._uow.replace(ENTERPRISE_USAGE, {**doc, "committed_rupiah": committed_rupiah})
