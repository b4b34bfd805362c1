"""Subsidy domain objects for the rule tests: a program, an enterprise replica, invoice lines,
an application and a budget, each valid unless changed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from services.subsidy.domain import rules
from services.subsidy.domain.model import Application, InvoiceLine
from services.subsidy.domain.programs import Budget, Program
from services.subsidy.replicas import EnterpriseReplica

NOW = datetime(2025, 3, 1, tzinfo=UTC)


def program(**changes: Any) -> Program:
    fields: dict[str, Any] = {
        "id": "prg-1",
        "kind": "machine_restructuring",
        "name": "Restrukturisasi Mesin",
        "fiscal_year": 2025,
        "share_percent": 30,
        "cap_per_application_rupiah": 150_000_000,
        "cap_per_enterprise_rupiah": 300_000_000,
        "province_budgets": {"34": 1_000_000_000},
        "national_reserve_rupiah": 500_000_000,
        "opens_at": NOW - timedelta(days=10),
        "closes_at": NOW + timedelta(days=10),
        "created_by": "pusat",
        "created_at": NOW,
    }
    return Program(**{**fields, **changes})


def enterprise(**changes: Any) -> EnterpriseReplica:
    fields: dict[str, Any] = {
        "nib": "1234567890123",
        "name": "CV Logam Jaya",
        "province": "34",
        "regency": "3471",
        "kbli": "25920",
        "directorate": "metal_machinery_electronics_transport",
        "size_class": "small",
        "status": "active",
    }
    return EnterpriseReplica(**{**fields, **changes})


def machine(price: int, locally_made: bool = False) -> InvoiceLine:
    return InvoiceLine(
        kind="machine",
        description="mesin bubut CNC",
        supplier="PT Mesin",
        price_rupiah=price,
        locally_made=locally_made,
    )


def application(**changes: Any) -> Application:
    fields: dict[str, Any] = {
        "id": "app-1",
        "program_id": "prg-1",
        "program_kind": "machine_restructuring",
        "program_name": "Restrukturisasi Mesin",
        "fiscal_year": 2025,
        "nib": "1234567890123",
        "enterprise_name": "CV Logam Jaya",
        "province": "34",
        "regency": "3471",
        "directorate": "metal_machinery_electronics_transport",
        "kbli": "25920",
        "lines": [machine(10_000_000)],
        "eligible_cost_rupiah": 10_000_000,
        "requested_rebate_rupiah": 3_000_000,
        "submitted_by": "owner",
        "submitted_at": NOW,
    }
    return Application(**{**fields, **changes})


def budget(allocated: int, reserved: int = 0, province: str | None = "34") -> Budget:
    return Budget(
        id=rules.budget_id_for("prg-1", province),
        program_id="prg-1",
        program_kind="machine_restructuring",
        program_name="Restrukturisasi Mesin",
        fiscal_year=2025,
        pool="province" if province else "national_reserve",
        province=province,
        allocated_rupiah=allocated,
        reserved_rupiah=reserved,
    )
