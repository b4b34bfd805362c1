"""Subsidy persistence: collections, repositories and the service's unit of work.

Every write is a ``replace`` of a versioned document, so two units of work that read the
same budget (or enterprise usage) and both try to reserve from it cannot both commit: the
second gets ``VersionConflict`` (or ``TransactionConflict`` on MongoDB) and runs again.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ikmkit.store import CollectionSpec, In, Transaction
from ikmkit.store.port import Filter, OrderBy
from ikmkit.store.repository import Repository, Versioned
from ikmkit.unit_of_work import UnitOfWork
from services.subsidy.domain.model import Application
from services.subsidy.domain.programs import Budget, EnterpriseUsage, Program
from services.subsidy.domain.reports import StatsCell
from services.subsidy.domain.rules import budget_id_for
from services.subsidy.replicas import ENTERPRISES

PROGRAMS = "programs"
BUDGETS = "budgets"
APPLICATIONS = "applications"
ENTERPRISE_USAGE = "enterprise_usage"

COLLECTIONS = (
    # times ordered by as stored text: written in one fixed-width form (ikmkit.store.times)
    CollectionSpec(PROGRAMS, indexes=[("fiscal_year", "kind")], times=("created_at",)),
    CollectionSpec(BUDGETS, indexes=[("fiscal_year", "province"), ("program_id",)]),
    CollectionSpec(
        APPLICATIONS,
        indexes=[
            ("nib", "submitted_at"),
            ("province", "status", "submitted_at"),
            ("status", "submitted_at"),
            ("program_id",),
        ],
        times=("submitted_at",),
    ),
    CollectionSpec(ENTERPRISES.collection),
    CollectionSpec(ENTERPRISE_USAGE),
)

PAGE = 500


class ProgramRepository(Repository[Program]):
    collection = PROGRAMS
    model = Program
    id_field = "id"
    times = ("created_at",)
    what = "program"


class BudgetRepository(Repository[Budget]):
    collection = BUDGETS
    model = Budget
    id_field = "id"
    what = "budget"

    async def pools_of(self, program_id: str, province: str) -> tuple[Budget | None, Budget | None]:
        """The province's budget of the program and the program's national reserve."""
        found = await self.get_many(
            [budget_id_for(program_id, province), budget_id_for(program_id, None)]
        )
        return found.get(budget_id_for(program_id, province)), found.get(
            budget_id_for(program_id, None)
        )

    async def matching(self, fiscal_year: int | None, province: str | None) -> list[Budget]:
        where: dict[str, Any] = {}
        if fiscal_year is not None:
            where["fiscal_year"] = fiscal_year
        if province is not None:
            where["province"] = province
        return await _all(self, where, order_by=[("program_id", 1)])


class ApplicationRepository(Repository[Application]):
    collection = APPLICATIONS
    model = Application
    id_field = "id"
    times = ("submitted_at",)
    what = "application"

    async def open_of(self, nib: str, statuses: Sequence[str]) -> list[Application]:
        return await _all(self, {"nib": nib, "status": In(list(statuses))})

    async def stats_cells(self, fiscal_year: int | None, province: str | None) -> list[StatsCell]:
        where: dict[str, object] = {} if fiscal_year is None else {"fiscal_year": fiscal_year}
        if province is not None:
            where["province"] = province
        rows = await self.tx.group(
            APPLICATIONS,
            ["program_id", "program_name", "province", "directorate", "status"],
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
                program_name=str(r.key["program_name"]),
            )
            for r in rows
        ]


class UsageRepository(Repository[EnterpriseUsage]):
    collection = ENTERPRISE_USAGE
    model = EnterpriseUsage
    id_field = "id"
    what = "enterprise usage"

    async def of(self, program_id: str, nib: str) -> EnterpriseUsage:
        """The enterprise's usage of the program's cap (nothing yet: a new, unsaved one)."""
        usage_id = EnterpriseUsage.id_for(program_id, nib)
        return await self.find_one(usage_id) or EnterpriseUsage(id=usage_id)

    async def put(self, usage: EnterpriseUsage) -> EnterpriseUsage:
        # Two first commitments race on the insert: the loser's DuplicateKey is retried.
        return await (self.add(usage) if usage.version == 0 else self.save(usage))


async def _all[M: Versioned](
    repository: Repository[M], where: Filter, order_by: OrderBy = ()
) -> list[M]:
    items: list[M] = []
    cursor: str | None = None
    while True:
        page, cursor = await repository.page(where, order_by=order_by, limit=PAGE, cursor=cursor)
        items += page
        if cursor is None:
            return items


class SubsidyUnit(UnitOfWork):
    def __init__(self, tx: Transaction) -> None:
        super().__init__(tx)
        self.programs = ProgramRepository(tx)
        self.budgets = BudgetRepository(tx)
        self.applications = ApplicationRepository(tx)
        self.usages = UsageRepository(tx)
