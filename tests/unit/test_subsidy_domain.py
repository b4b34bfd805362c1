"""Subsidy rules: rounding and caps, eligibility, invoice lines, state machine, budget
reservation, who may do what, reports."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from ikmkit.auth import Caller
from ikmkit.service.errors import Conflict, Forbidden, InvalidInput, NotFound
from services.subsidy.domain import access, program_terms, reports, rules
from services.subsidy.domain.model import InvoiceLine
from services.subsidy.domain.programs import KbliRange, Program, budgets_of
from services.subsidy.domain.reports import StatsCell
from services.subsidy.domain.rules import Refusal, Reservation
from services.subsidy.replicas import EnterpriseReplica
from tests.support.subsidy_samples import (
    NOW,
    application,
    budget,
    enterprise,
    machine,
    program,
)

# --- rounding and caps ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cost", "expected"),
    [
        (10_000_000, 3_000_000),  # 30% exactly
        (1_000_001, 300_000),  # 300,000.3 rounds down
        (1_000_003, 300_000),  # 300,000.9 still rounds down: never more than the share
        (3, 0),
        (600_000_000, 150_000_000),  # 180,000,000 capped per application
    ],
)
def test_machine_rebate_is_30_percent_rounded_down_and_capped(cost: int, expected: int) -> None:
    assert rules.rebate_for(cost, program()) == expected


def test_tkdn_certification_is_free_up_to_the_cap() -> None:
    tkdn = program(
        kind="tkdn_certification", share_percent=100, cap_per_application_rupiah=5_000_000
    )
    assert rules.rebate_for(3_750_000, tkdn) == 3_750_000
    assert rules.rebate_for(7_000_000, tkdn) == 5_000_000


def test_eligible_cost_sums_lines_and_rejects_non_positive_prices() -> None:
    assert rules.eligible_cost([machine(2_000_000), machine(3_000_000)], program()) == 5_000_000
    for bad in (0, -5):
        with pytest.raises(InvalidInput) as err:
            rules.eligible_cost([machine(1_000), machine(bad)], program())
        assert (err.value.field, err.value.rule) == ("lines[1].price_rupiah", "positive")
    with pytest.raises(InvalidInput) as err:
        rules.eligible_cost([], program())
    assert err.value.rule == "required"


def test_locally_made_only_programs_pay_only_for_local_machines() -> None:
    local_only = program(locally_made_only=True)
    lines = [machine(4_000_000, locally_made=True), machine(9_000_000)]
    assert rules.eligible_cost(lines, local_only) == 4_000_000
    with pytest.raises(InvalidInput) as err:
        rules.eligible_cost([machine(9_000_000)], local_only)
    assert err.value.rule == "locally_made_only"


def test_line_kind_must_match_the_program() -> None:
    fee = InvoiceLine(
        kind="certification_fee", description="TKDN", supplier="LVI", price_rupiah=1_000
    )
    with pytest.raises(InvalidInput) as err:
        rules.eligible_cost([fee], program())
    assert (err.value.field, err.value.rule) == ("lines[0].kind", "line_kind")


# --- programs -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "field", "rule"),
    [
        ({"share_percent": 0}, "share_percent", "range"),
        ({"cap_per_application_rupiah": 0}, "cap_per_application_rupiah", "positive"),
        (
            {"cap_per_application_rupiah": 400_000_000},
            "cap_per_application_rupiah",
            "not_above_enterprise_cap",
        ),
        ({"closes_at": NOW - timedelta(days=20)}, "closes_at", "after_opens"),
        ({"province_budgets": {"Aceh": 1}}, "province_budgets.Aceh", "province_unknown"),
        ({"province_budgets": {"11": -1}}, "province_budgets.11", "min_0"),
        (
            {"eligible_kbli_ranges": [KbliRange(from_kbli="30000", to_kbli="25000")]},
            "eligible_kbli_ranges[0]",
            "order",
        ),
    ],
)
def test_program_rules(changes: dict[str, Any], field: str, rule: str) -> None:
    with pytest.raises(InvalidInput) as err:
        program_terms.check_program(program(**changes))
    assert (err.value.field, err.value.rule) == (field, rule)


def test_budgets_of_a_program_are_one_per_province_plus_the_reserve() -> None:
    budgets = budgets_of(program(province_budgets={"34": 10, "11": 20}))
    assert [(b.id, b.allocated_rupiah) for b in budgets] == [
        ("prg-1:11", 20),
        ("prg-1:34", 10),
        ("prg-1:national_reserve", 500_000_000),
    ]


def test_window_is_half_open() -> None:
    p = program()
    assert p.is_open(p.opens_at) and not p.is_open(p.closes_at)


# --- eligibility ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("replica", "prog", "rule"),
    [
        (None, program(), "enterprise_unknown"),
        (enterprise(status="registered"), program(), "enterprise_not_verified"),
        (enterprise(status="suspended"), program(), "enterprise_suspended"),
        (enterprise(size_class="large"), program(), "enterprise_size_class"),
        (
            enterprise(),
            program(eligible_directorates=["food_furniture_wood"]),
            "sector_not_eligible",
        ),
        (
            enterprise(),
            program(eligible_kbli_ranges=[KbliRange(from_kbli="10000", to_kbli="12999")]),
            "kbli_not_eligible",
        ),
    ],
)
def test_who_is_not_eligible_and_why(
    replica: EnterpriseReplica | None, prog: Program, rule: str
) -> None:
    refusal = rules.ineligibility(replica, prog)
    assert refusal is not None and (refusal.field, refusal.rule) == ("nib", rule)


def test_verified_small_or_medium_enterprise_in_sector_is_eligible() -> None:
    ranges = [KbliRange(from_kbli="24000", to_kbli="30999")]
    prog = program(
        eligible_directorates=["metal_machinery_electronics_transport"], eligible_kbli_ranges=ranges
    )
    assert rules.ineligibility(enterprise(), prog) is None
    assert rules.ineligibility(enterprise(size_class="medium"), prog) is None


# --- state machine and reservation ------------------------------------------------------------


@pytest.mark.parametrize("status", ["approved", "rejected", "disbursed", "cancelled", "on_hold"])
def test_only_open_undecided_applications_can_be_approved(status: str) -> None:
    with pytest.raises(Conflict) as err:
        rules.require_status(application(status=status), rules.DECIDABLE_STATUSES, "approve")
    assert err.value.rule == f"cannot_approve_{status}"


def test_reservation_comes_from_the_province_first() -> None:
    decision = rules.decide_reservation(
        application(), 0, program(), budget(5_000_000), budget(10_000_000, province=None)
    )
    assert isinstance(decision, Reservation)
    assert (decision.budget.id, decision.budget.reserved_rupiah) == ("prg-1:34", 3_000_000)


def test_reservation_falls_back_wholly_to_the_national_reserve() -> None:
    decision = rules.decide_reservation(
        application(),
        0,
        program(),
        budget(5_000_000, reserved=3_000_000),
        budget(10_000_000, province=None),
    )
    assert isinstance(decision, Reservation)
    assert decision.budget.id == "prg-1:national_reserve"


def test_exhausted_budgets_refuse_and_are_announced_once() -> None:
    province = budget(2_000_000)
    reserve = budget(1_000_000, province=None).model_copy(update={"exhausted": True})
    decision = rules.decide_reservation(application(), 0, program(), province, reserve)
    assert isinstance(decision, Refusal) and decision.rule == "budget_exhausted"
    assert [b.id for b in decision.newly_exhausted] == ["prg-1:34"]
    assert "Rp 2,000,000 left" in decision.reason


def test_enterprise_cap_limits_the_rebate_then_refuses() -> None:
    prog = program(cap_per_enterprise_rupiah=10_000_000)
    partial = rules.decide_reservation(application(), 8_000_000, prog, budget(10**9), None)
    assert isinstance(partial, Reservation) and partial.rebate_rupiah == 2_000_000
    none_left = rules.decide_reservation(application(), 10_000_000, prog, budget(10**9), None)
    assert isinstance(none_left, Refusal) and none_left.rule == "enterprise_cap_reached"


def test_budget_moves_keep_it_reconciled() -> None:
    b = (
        budget(10_000_000)
        .reserve(3_000_000)
        .reserve(2_000_000)
        .disburse(3_000_000)
        .release(2_000_000)
    )
    assert (b.reserved_rupiah, b.disbursed_rupiah, b.remaining_rupiah) == (0, 3_000_000, 7_000_000)
    with pytest.raises(Conflict):
        b.reserve(7_000_001)
    assert reports.budget_report([b]).totals.reconciles


# --- roles ------------------------------------------------------------------------------------


def test_enterprise_applies_only_for_its_own_nib() -> None:
    owner = Caller(subject="o", role="enterprise", nib="1234567890123")
    access.authorize_apply(owner, "1234567890123", "34")
    with pytest.raises(Forbidden):
        access.authorize_apply(owner, "9999999999999", "34")


def test_regional_officer_reviews_only_its_province_and_up_to_the_limit() -> None:
    jogja = Caller(subject="r", role="regional", province="34")
    access.authorize_approve(jogja, application(requested_rebate_rupiah=50_000_000), 50_000_000)
    with pytest.raises(Forbidden) as err:
        access.authorize_approve(jogja, application(requested_rebate_rupiah=50_000_001), 50_000_000)
    assert err.value.rule == "regional_approval_limit"
    with pytest.raises(NotFound) as hidden:  # another province's: as missing as to a read
        access.authorize_approve(jogja, application(province="11"), 50_000_000)
    assert hidden.value.message == "application app-1 not found"
    access.authorize_approve(
        Caller(subject="m", role="ministry"), application(requested_rebate_rupiah=10**9), 1
    )


# --- reports ----------------------------------------------------------------------------------


def test_stats_count_approvals_and_rupiah_per_dimension() -> None:
    cells = [
        StatsCell("prg-1", "34", "metal", "approved", 2, 6_000_000),
        StatsCell("prg-1", "34", "metal", "disbursed", 1, 3_000_000),
        StatsCell("prg-1", "11", "food", "rejected", 4, 0),
        StatsCell("prg-2", "11", "food", "submitted", 1, 0),
    ]
    stats = reports.stats_of(cells)
    assert (stats.applications, stats.approvals) == (8, 3)
    assert (stats.approved_rupiah, stats.disbursed_rupiah) == (9_000_000, 3_000_000)
    by_province = {row.key: row for row in stats.by_province}
    assert (by_province["34"].approvals, by_province["11"].applications) == (3, 5)
    assert [row.key for row in stats.by_program] == ["prg-1", "prg-2"]


def test_stats_name_programs_and_keep_their_id_as_the_key() -> None:
    cells = [
        StatsCell("prg-1", "34", "metal", "approved", 2, 6_000_000, "Restrukturisasi Mesin"),
        StatsCell("prg-1", "11", "food", "submitted", 1, 0, "Restrukturisasi Mesin"),
        StatsCell("prg-2", "11", "food", "submitted", 1, 0, "Sertifikasi TKDN"),
    ]
    stats = reports.stats_of(cells)
    assert [(r.key, r.name, r.applications) for r in stats.by_program] == [
        ("prg-1", "Restrukturisasi Mesin", 3),
        ("prg-2", "Sertifikasi TKDN", 1),
    ]
    assert all(r.name is None for r in stats.by_province)


# --- one answer names every broken rule -------------------------------------------------------
