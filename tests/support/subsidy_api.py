"""Tokens, request bodies and polling for the subsidy API's tests."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from tests.support.fiscal import as_json, open_now
from tests.support.service import auth_headers

MINISTRY = auth_headers("ministry")
JOGJA = auth_headers("regional", province="34")


def enterprise_body(nib: str) -> dict[str, Any]:
    return {
        "nib": nib,
        "name": "CV Logam Presisi",
        "owner_name": "Sri Wahyuni",
        "owner_email": "sri@example.id",
        "province": "34",
        "regency": "3471",
        "kbli": "25920",
        "workforce": 12,
        "investment_rupiah": 600_000_000,
    }


def program_body(**changes: Any) -> dict[str, Any]:
    body = {
        "kind": "machine_restructuring",
        "name": "Restrukturisasi Mesin IKM",
        **as_json(open_now()),
        "cap_per_application_rupiah": 90_000_000,
        "cap_per_enterprise_rupiah": 200_000_000,
        "province_budgets": {"34": 100_000_000},
        "national_reserve_rupiah": 0,
    }
    return {**body, **changes}


def machine(price: int) -> dict[str, Any]:
    return {
        "kind": "machine",
        "description": "mesin CNC",
        "supplier": "PT Mesin Lokal",
        "price_rupiah": price,
        "locally_made": True,
    }


async def eventually[T](probe: Callable[[], Awaitable[T | None]], seconds: float = 20) -> T:
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        result = await probe()
        if result is not None:
            return result
        assert asyncio.get_running_loop().time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.1)
