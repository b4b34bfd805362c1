"""The subsidy's money: a ``Program`` and its ``Budget`` pools (one per province plus the
national reserve), and what an enterprise has committed of its cap (``EnterpriseUsage``).

A budget's changes are methods here; the ``Application`` that draws on it is in ``model``.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

from pydantic import BaseModel, ConfigDict, Field

from contracts.registry import Directorate
from contracts.subsidy import BudgetAllocated, BudgetExhausted, BudgetPool, ProgramKind
from contracts.values import KbliText, ProvinceText, documented
from ikmkit.service.errors import Conflict
from ikmkit.service.limits import CODE_MAX, YEAR_MAX, YEAR_MIN
from ikmkit.store.repository import Versioned
from ikmkit.unit_of_work import Changed
from services.subsidy.domain import rules

if TYPE_CHECKING:  # only annotations: model imports this module
    from services.subsidy.domain.model import Application

FROZEN = ConfigDict(frozen=True)
Year = Annotated[int, documented("Fiscal year", minimum=YEAR_MIN, maximum=YEAR_MAX)]


class KbliRange(BaseModel):
    """Inclusive range of 5-digit KBLI codes, e.g. 25000..30999 for metal and machinery."""

    # A request's part too: a field it does not define is refused (ikmkit/service/command.py)
    model_config = ConfigDict(frozen=True, extra="forbid")

    # Documented as KBLI; the program's rules check them (kbli_format, naming the range).
    from_kbli: Annotated[KbliText, Field(max_length=CODE_MAX)]
    to_kbli: Annotated[KbliText, Field(max_length=CODE_MAX)]

    def contains(self, kbli: str) -> bool:
        return self.from_kbli <= kbli <= self.to_kbli


class Program(Versioned):
    model_config = FROZEN

    id: str
    kind: ProgramKind
    name: str
    fiscal_year: Year
    share_percent: int
    cap_per_application_rupiah: int
    cap_per_enterprise_rupiah: int
    eligible_directorates: list[Directorate] = Field(default_factory=list)
    eligible_kbli_ranges: list[KbliRange] = Field(default_factory=list)
    locally_made_only: bool = False
    province_budgets: dict[str, int]
    national_reserve_rupiah: int = 0
    opens_at: datetime
    closes_at: datetime
    created_by: str
    created_at: datetime

    def is_open(self, now: datetime) -> bool:
        return self.opens_at <= now < self.closes_at


class Budget(Versioned):
    """One pool of a program's money: a province's allocation or the national reserve.

    Invariant: reserved + disbursed + remaining = allocated, remaining >= 0.
    """

    model_config = FROZEN

    id: str
    program_id: str
    program_kind: ProgramKind
    program_name: str
    fiscal_year: Year
    pool: BudgetPool
    province: ProvinceText | None
    allocated_rupiah: int
    reserved_rupiah: int = 0
    disbursed_rupiah: int = 0
    exhausted: bool = False  # a BudgetExhausted was published since the last release

    @property
    def remaining_rupiah(self) -> int:
        return self.allocated_rupiah - self.reserved_rupiah - self.disbursed_rupiah

    def covers(self, amount: int) -> bool:
        return amount <= self.remaining_rupiah

    def reserve(self, amount: int) -> Budget:
        if not self.covers(amount):
            raise Conflict("budget cannot cover the amount", rule="budget_exhausted")
        return self.model_copy(
            update={"reserved_rupiah": self.reserved_rupiah + amount, "exhausted": False}
        )

    def _require_reserved(self, amount: int, action: str) -> None:
        # Only what an approval reserved can be paid or given back: never below zero.
        if not 0 < amount <= self.reserved_rupiah:
            raise Conflict(
                f"cannot {action} Rp {amount:,}: budget {self.id} holds Rp"
                f" {self.reserved_rupiah:,} in reservations",
                field="rebate_rupiah",
                rule="not_reserved",
            )

    def release(self, amount: int) -> Budget:
        self._require_reserved(amount, "release")
        return self.model_copy(
            update={"reserved_rupiah": self.reserved_rupiah - amount, "exhausted": False}
        )

    def disburse(self, amount: int) -> Budget:
        self._require_reserved(amount, "disburse")
        return self.model_copy(
            update={
                "reserved_rupiah": self.reserved_rupiah - amount,
                "disbursed_rupiah": self.disbursed_rupiah + amount,
            }
        )

    def exhaust(self, app: Application, needed_rupiah: int, now: datetime) -> Changed[Budget]:
        """Announce (once, until money comes back) that it cannot cover the ``needed_rupiah``
        of ``app`` (its rebate as limited by the enterprise's cap). Flagging it also makes the
        refusal conflict with a concurrent reservation from the same pool."""
        event = BudgetExhausted(
            **self.model_dump(exclude={"id", "version", "exhausted"}),
            budget_id=self.id,
            remaining_rupiah=self.remaining_rupiah,
            requested_rupiah=needed_rupiah,
            application_id=app.id,
            exhausted_at=now,
        )
        return Changed(self.model_copy(update={"exhausted": True}), (event,))

    def allocated(self, by: str, at: datetime) -> BudgetAllocated:
        """The announcement of this (new) budget: how much its pool holds."""
        return BudgetAllocated(
            **self.model_dump(include=_ANNOUNCED),
            budget_id=self.id,
            allocated_by=by,
            allocated_at=at,
        )


_ANNOUNCED = {  # what BudgetAllocated says of a budget (with its id)
    "program_id", "program_kind", "program_name", "fiscal_year", "province", "pool",
    "allocated_rupiah",
}  # fmt: skip


def allocate_budgets(program: Program) -> Changed[list[Budget]]:
    """A new program's budgets, each announced by a ``BudgetAllocated`` (its first event)."""
    budgets = budgets_of(program)
    events = tuple(b.allocated(program.created_by, program.created_at) for b in budgets)
    return Changed(budgets, events)


def budgets_of(program: Program) -> list[Budget]:
    pools: list[tuple[BudgetPool, str | None, int]] = [
        *(("province", p, amount) for p, amount in sorted(program.province_budgets.items())),
        ("national_reserve", None, program.national_reserve_rupiah),
    ]
    return [
        Budget(
            id=rules.budget_id_for(program.id, province),
            program_id=program.id,
            program_kind=program.kind,
            program_name=program.name,
            fiscal_year=program.fiscal_year,
            pool=pool,
            province=province,
            allocated_rupiah=amount,
        )
        for pool, province, amount in pools
    ]


class EnterpriseUsage(Versioned):
    """How much rebate an enterprise has committed (approved or paid) in one program: a
    versioned counter per (program, NIB), so the yearly cap holds under races."""

    model_config = FROZEN

    id: str
    committed_rupiah: int = 0

    @staticmethod
    def id_for(program_id: str, nib: str) -> str:
        return f"{program_id}|{nib}"

    def commit(self, amount: int) -> EnterpriseUsage:
        return self.model_copy(update={"committed_rupiah": self.committed_rupiah + amount})

    def release(self, amount: int) -> EnterpriseUsage:
        return self.model_copy(update={"committed_rupiah": max(0, self.committed_rupiah - amount)})
