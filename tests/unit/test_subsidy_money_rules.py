"""Subsidy money rules as an auditor probes them: a share of 0 percent, a program window
outside its fiscal year, a hold or resume out of turn, and what BudgetExhausted says an
approval needed. Each refusal names its rule and announces nothing."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from pydantic import ValidationError

from contracts.subsidy import (
    BudgetAllocated,
    BudgetExhausted,
    SubsidyApplied,
    SubsidyApproved,
    SubsidyRejected,
)
from ikmkit.auth import Caller
from ikmkit.clock import fixed_clock
from ikmkit.service.errors import Conflict, Forbidden, InvalidInput, InvalidInputs
from ikmkit.service.limits import RUPIAH_MAX
from ikmkit.unit_of_work import Units
from services.subsidy import handlers
from services.subsidy.commands import CreateProgram, SubmitApplication
from services.subsidy.store import SubsidyUnit
from tests.support.subsidy_samples import application, budget
from tests.support.subsidy_units import (
    JOGJA,
    MINISTRY,
    NOW,
    OWNER,
    active_enterprise,
    approve,
    events_of,
    subsidy_units,
)
from tests.support.subsidy_units import application as submit_cmd

units = pytest.fixture(subsidy_units, name="units")

WIB = timezone(timedelta(hours=7))


def create(**changes: Any) -> CreateProgram:
    fields: dict[str, Any] = {
        "kind": "machine_restructuring",
        "name": "Restrukturisasi Mesin IKM",
        "fiscal_year": 2026,
        "cap_per_application_rupiah": 100_000_000,
        "cap_per_enterprise_rupiah": 200_000_000,
        "province_budgets": {"34": 1_000_000_000},
        "opens_at": NOW - timedelta(days=1),
        "closes_at": NOW + timedelta(days=30),
    }
    return CreateProgram(**{**fields, **changes})


def named(err: pytest.ExceptionInfo[InvalidInput]) -> set[tuple[str | None, str | None]]:
    every = err.value.violations if isinstance(err.value, InvalidInputs) else [err.value]
    return {(v.field, v.rule) for v in every}


# --- the ministry's share ---------------------------------------------------------------------


async def test_a_share_of_zero_percent_is_refused_not_replaced_by_the_default(
    units: Units[SubsidyUnit],
) -> None:
    with pytest.raises(InvalidInput) as err:
        await units.run(handlers.create_program, create(share_percent=0), MINISTRY)
    assert named(err) == {("share_percent", "range")}
    assert await events_of(units, BudgetAllocated) == []
    made = await units.run(handlers.create_program, create(), MINISTRY)
    assert made.share_percent == 30  # left out: the program kind's default


# --- the window lies in the fiscal year -------------------------------------------------------


@pytest.mark.parametrize(
    ("window", "expected"),
    [
        (  # a 2026 program taking applications into 2027
            {"closes_at": datetime(2027, 1, 31, tzinfo=UTC)},
            {("closes_at", "outside_fiscal_year")},
        ),
        (  # a 2026 program opened in December 2025
            {"opens_at": datetime(2025, 12, 1, tzinfo=UTC)},
            {("opens_at", "outside_fiscal_year")},
        ),
        (  # wholly in another year: both named
            {
                "opens_at": datetime(2030, 2, 1, tzinfo=UTC),
                "closes_at": datetime(2030, 3, 1, tzinfo=UTC),
            },
            {("opens_at", "outside_fiscal_year"), ("closes_at", "outside_fiscal_year")},
        ),
        (  # one second past midnight of 1 January 2027 in Jakarta
            {"closes_at": datetime(2027, 1, 1, 0, 0, 1, tzinfo=WIB)},
            {("closes_at", "outside_fiscal_year")},
        ),
    ],
)
async def test_a_program_window_outside_its_fiscal_year_is_refused(
    units: Units[SubsidyUnit], window: dict[str, datetime], expected: set[tuple[str, str]]
) -> None:
    with pytest.raises(InvalidInput) as err:
        await units.run(handlers.create_program, create(**window), MINISTRY)
    assert named(err) == expected
    assert await events_of(units, BudgetAllocated) == []


async def test_the_fiscal_year_is_the_calendar_year_in_jakarta(units: Units[SubsidyUnit]) -> None:
    """1 January 00:00 WIB is 31 December 17:00 UTC: the whole of 2026 in Jakarta is allowed."""
    whole_year = create(
        opens_at=datetime(2026, 1, 1, tzinfo=WIB), closes_at=datetime(2027, 1, 1, tzinfo=WIB)
    )
    made = await units.run(handlers.create_program, whole_year, MINISTRY)
    assert made.opens_at == datetime(2025, 12, 31, 17, tzinfo=UTC)


# --- hold and resume only in turn -------------------------------------------------------------


@pytest.mark.parametrize("status", ["rejected", "disbursed", "cancelled", "on_hold"])
def test_only_an_open_application_is_put_on_hold(status: str) -> None:
    app = application(status=status)
    with pytest.raises(Conflict) as err:
        app.hold("audit", NOW)
    assert (err.value.field, err.value.rule) == ("status", f"cannot_hold_{status}")


@pytest.mark.parametrize("status", ["submitted", "approved", "disbursed"])
def test_only_an_application_on_hold_resumes(status: str) -> None:
    with pytest.raises(Conflict) as err:
        application(status=status).resume(NOW)
    assert err.value.rule == f"cannot_resume_{status}"
    held = application(status=status if status != "disbursed" else "approved")
    back = held.hold("audit", NOW).state.resume(NOW)
    assert back.state.status == held.status and len(back.events) == 1


# --- what BudgetExhausted says the approval needed --------------------------------------------


async def test_budget_exhausted_names_the_rebate_the_approval_needed(
    units: Units[SubsidyUnit],
) -> None:
    """The enterprise's cap leaves Rp 40,000,000 of a Rp 100,000,000 request; the budget has
    Rp 10,000,000: the budget fell short of 40 million, not of the 100 million asked."""
    program_id = (
        await units.run(
            handlers.create_program, create(province_budgets={"34": 170_000_000}), MINISTRY
        )
    ).id
    await active_enterprise(units)
    for price in (500_000_000, 200_000_000):  # rebates of Rp 100,000,000 and Rp 60,000,000
        app = await units.run(handlers.submit_application, submit_cmd(program_id, price), OWNER)
        assert (await approve(units, app.id)).status == "approved"
    last = await units.run(handlers.submit_application, submit_cmd(program_id, 500_000_000), OWNER)
    refused = await approve(units, last.id)
    assert refused.rejection is not None and refused.rejection.rule == "budget_exhausted"
    assert "cannot cover Rp 40,000,000" in refused.rejection.reason
    [exhausted] = await events_of(units, BudgetExhausted)
    assert (exhausted.remaining_rupiah, exhausted.requested_rupiah) == (10_000_000, 40_000_000)
    [rejected] = await events_of(units, SubsidyRejected)
    assert rejected.requested_rebate_rupiah == 100_000_000  # what the enterprise asked for


# --- a program with nothing to spend ----------------------------------------------------------


@pytest.mark.parametrize(
    "budgets",
    [
        {"province_budgets": {}, "national_reserve_rupiah": 0},
        {"province_budgets": {"34": 0, "11": 0}, "national_reserve_rupiah": 0},
    ],
)
async def test_a_program_whose_budgets_are_all_zero_is_refused(
    units: Units[SubsidyUnit], budgets: dict[str, Any]
) -> None:
    """Zero in every pool: each approval would be 'budget_exhausted' with no budget at all."""
    with pytest.raises(InvalidInput) as err:
        await units.run(handlers.create_program, create(**budgets), MINISTRY)
    assert named(err) == {("province_budgets", "required")}
    assert await events_of(units, BudgetAllocated) == []


# --- no commitment after the fiscal year ------------------------------------------------------


async def test_an_approval_after_the_fiscal_year_commits_nothing(
    units: Units[SubsidyUnit],
) -> None:
    """Submitted in 2026, taken up on 2 January 2027: the 2026 budget has lapsed (APBN), so the
    application is rejected (fiscal_year_ended) and neither the budget nor the cap moves."""
    program_id = (await units.run(handlers.create_program, create(), MINISTRY)).id
    await active_enterprise(units)
    late = await units.run(handlers.submit_application, submit_cmd(program_id), OWNER)
    in_time = await units.run(handlers.submit_application, submit_cmd(program_id), OWNER)

    units.clock = fixed_clock(datetime(2026, 12, 31, 23, 59, 59, tzinfo=WIB))
    assert (await approve(units, in_time.id)).status == "approved"
    units.clock = fixed_clock(datetime(2027, 1, 2, 9, tzinfo=WIB))
    refused = await approve(units, late.id)
    assert refused.status == "rejected" and refused.rejection is not None
    assert refused.rejection.rule == "fiscal_year_ended"
    assert (refused.rebate_rupiah, refused.budget_id) == (0, None)
    [rejected] = await events_of(units, SubsidyRejected)
    assert (rejected.application_id, rejected.rule) == (late.id, "fiscal_year_ended")
    assert await events_of(units, BudgetExhausted) == []
    async with units.open() as uow:
        province, _ = await uow.budgets.pools_of(program_id, "34")
        usage = await uow.usages.of(program_id, OWNER.nib or "")
    assert province is not None and province.reserved_rupiah == in_time.requested_rebate_rupiah
    assert usage.committed_rupiah == in_time.requested_rebate_rupiah


# --- money is a JSON integer ------------------------------------------------------------------


@pytest.mark.parametrize("amount", [1_000_000.0, "1000000", True])
def test_an_amount_that_is_not_a_json_integer_is_refused(amount: object) -> None:
    """``true`` was read as Rp 1, ``"1000000"`` and ``1000000.0`` as amounts: money is an
    integer number of rupiah, as the contract and the docs say, in the request too."""
    line = {"kind": "machine", "description": "CNC", "supplier": "PT Mesin", "price_rupiah": amount}
    apply = {"program_id": "prg-1", "nib": "1234567890123", "lines": [line]}
    with pytest.raises(ValidationError) as err:
        SubmitApplication.model_validate_json(json.dumps(apply))
    assert [(e["loc"], e["type"]) for e in err.value.errors()] == [
        (("lines", 0, "price_rupiah"), "int_type")
    ]
    body = {**create().model_dump(mode="json"), "national_reserve_rupiah": amount}
    body["province_budgets"] = {"34": amount}
    with pytest.raises(ValidationError) as err:
        CreateProgram.model_validate_json(json.dumps(body))
    assert sorted((e["loc"], e["type"]) for e in err.value.errors()) == [
        (("national_reserve_rupiah",), "int_type"),
        (("province_budgets", "34"), "int_type"),
    ]


# --- a budget pays and gives back only what it reserved ---------------------------------------


@pytest.mark.parametrize("amount", [3_000_001, 0, -5])
def test_a_budget_pays_or_releases_only_what_it_holds_in_reservations(amount: int) -> None:
    """Reserved Rp 3,000,000: paying or releasing more (or nothing, or a negative amount)
    would break reserved + disbursed + remaining = allocated with a negative reservation."""
    held = budget(10_000_000, reserved=3_000_000)
    for move in (held.disburse, held.release):
        with pytest.raises(Conflict) as err:
            move(amount)
        assert err.value.rule == "not_reserved"
    paid = held.disburse(3_000_000)
    assert (paid.reserved_rupiah, paid.disbursed_rupiah, paid.remaining_rupiah) == (
        0,
        3_000_000,
        7_000_000,
    )


# --- four eyes ----------------------------------------------------------------------------------


async def test_an_officer_does_not_approve_an_application_it_submitted(
    units: Units[SubsidyUnit],
) -> None:
    """A regional officer filed an application for an enterprise of its province and approved
    it: one person committed Rp 3,000,000 of the ministry's money alone."""
    program_id = (await units.run(handlers.create_program, create(), MINISTRY)).id
    await active_enterprise(units)
    filed = await units.run(handlers.submit_application, submit_cmd(program_id), JOGJA)
    with pytest.raises(Forbidden) as err:
        await approve(units, filed.id, JOGJA)
    assert err.value.rule == "own_submission"
    assert await events_of(units, SubsidyApproved, SubsidyRejected) == []
    colleague = Caller(subject="officer-34-b", role="regional", province="34")
    assert (await approve(units, filed.id, colleague)).status == "approved"


# --- the invoice's total within the platform's integers ---------------------------------------


async def test_an_invoice_whose_lines_add_up_past_the_largest_amount_is_refused(
    units: Units[SubsidyUnit],
) -> None:
    """Each price within Rp 2^53 - 1, their sum not: SubsidyApplied could not be written as
    RFC 8785 JSON (UnrepresentableEvent), the request a 500. Now a 422 naming the lines."""
    program_id = (await units.run(handlers.create_program, create(), MINISTRY)).id
    await active_enterprise(units)
    huge = submit_cmd(program_id, RUPIAH_MAX)
    both = huge.model_copy(update={"lines": [*huge.lines, *huge.lines]})
    with pytest.raises(InvalidInput) as err:
        await units.run(handlers.submit_application, both, OWNER)
    assert named(err) == {("lines", "total_out_of_range")}
    assert await events_of(units, SubsidyApplied) == []
    one = await units.run(handlers.submit_application, huge, OWNER)
    assert one.eligible_cost_rupiah == RUPIAH_MAX  # the largest single amount still goes in
