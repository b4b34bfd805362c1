"""STUB of the insights HTTP API, for the dashboard's browser tests until the real service lands.

It is NOT the insights service: no events, no store. It answers the JSON endpoints of the
contract (/work/wt/notes/insights.md: ``GET /indicators``, ``/indicators/{id}``, ``/provinces``,
``/progress``, ``/targets``) from a fixed data set, with the platform's real bearer tokens,
error shape and role rules (ministry/service all; regional only its province, 403 otherwise;
partner/enterprise 403), and mounts the real dashboard router. At merge the test swaps it for
``services.insights.main`` (one line in tests/e2e/test_insights_dashboard.py).

The data set is the articles' figures (2,612 SMK, 885 companies, 4,997 agreements; 156 webinars,
13,871 participants; 20 KSST participants from 10 countries; 10,240 e-Smart IKM on six
platforms) spread over five provinces, their regencies and the twelve months of one fiscal year.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Annotated, Literal

from fastapi import FastAPI, Query
from lokal.provinces import PROVINCES
from pydantic import BaseModel

from ikmkit.auth import Caller, CurrentCaller, TokenVerifier
from ikmkit.service.errors import Forbidden, NotFound
from ikmkit.service.http import install_error_handlers
from ikmkit.service.listing import Listing
from ikmkit.service.settings import DEV_JWT_SECRET
from services.insights.dashboard.router import router as dashboard_router

FISCAL_YEAR = 2026
EXPECTED_PERCENT = 75.0  # the stub's clock: three quarters of the fiscal year elapsed

# indicator -> (unit, title_id, title_en, dimension, {dimension value: national total})
INDICATORS: dict[str, tuple[str, str, str, str | None, dict[str, int]]] = {
    "enterprises.registered": (
        "enterprises", "IKM terdaftar", "Enterprises registered", "size_class",
        {"micro": 31_000, "small": 12_500, "medium": 4_715},
    ),
    "enterprises.verified": (
        "enterprises", "IKM terverifikasi", "Enterprises verified", None, {"-": 39_870},
    ),
    "linkmatch.smk": ("schools", "SMK link and match", "Link-and-match SMK", None, {"-": 2_612}),
    "linkmatch.companies": (
        "companies", "Perusahaan link and match", "Link-and-match companies", None, {"-": 885},
    ),
    "linkmatch.agreements": (
        "MoUs", "Perjanjian link and match", "Link-and-match agreements", None, {"-": 4_997},
    ),
    "webinars.held": ("courses", "Webinar", "Webinars held", None, {"-": 156}),
    "webinars.participants": (
        "participants", "Peserta webinar", "Webinar participants", None, {"-": 13_871},
    ),
    "esmart.onboarded": (
        "onboardings", "Onboarding e-Smart IKM", "e-Smart IKM onboardings", "platform",
        {"Tokopedia": 2_400, "Shopee": 2_300, "Bukalapak": 2_100, "Gojek": 1_300,
         "BliBli": 1_200, "Blanja.com": 940},
    ),
    "campaigns.participants": (
        "enterprises", "Peserta kampanye", "Campaign participants", "campaign",
        {"SemuanyaAdaDisini": 1_600_000},
    ),
    "partners.registered": (
        "partners", "Mitra terdaftar", "Partners registered", "partner_type",
        {"vocational_school": 2_612, "company": 885, "university": 290, "association": 24,
         "government_unit": 17, "foundation": 9, "international": 3},
    ),
    "ksst.participants": (
        "participants", "Peserta KSST per negara", "KSST participants by country", "country",
        {c: 2 for c in ("AF", "BD", "BT", "IN", "LA", "MM", "NP", "PK", "LK", "ID")},
    ),
    "subsidy.reserved_rupiah": (
        "rupiah", "Subsidi dicadangkan", "Subsidy reserved", "program",
        {"Potongan harga mesin 30%": 12_450_000_000},
    ),
    "subsidy.disbursed_rupiah": (
        "rupiah", "Subsidi dicairkan", "Subsidy disbursed", "program",
        {"Potongan harga mesin 30%": 8_200_000_000},
    ),
}  # fmt: skip

# province -> (weight, its regencies)
PLACES: dict[str, tuple[int, tuple[str, ...]]] = {
    "11": (1, ("1101", "1171")),
    "31": (3, ("3171", "3172", "3173")),
    "32": (4, ("3201", "3204", "3273")),
    "34": (1, ("3401", "3471")),
    "35": (3, ("3515", "3578")),
}
MONTH_WEIGHTS = (4, 5, 6, 7, 7, 8, 9, 9, 10, 11, 12, 12)
# (indicator, province, regency or None) -> share of the place's actual set as its target
TARGET_SHARES: dict[tuple[str, str, str | None], float] = {
    ("esmart.onboarded", province, None): factor
    for province, factor in (("11", 0.9), ("31", 1.1), ("32", 1.25), ("34", 1.6), ("35", 2.0))
} | {
    ("webinars.participants", "32", None): 1.2,
    ("linkmatch.agreements", "32", None): 2.5,
    ("enterprises.registered", "32", "3273"): 1.1,
}


@dataclass(frozen=True)
class Fact:
    indicator: str
    province: str
    regency: str
    month: int
    dimension: str
    value: int


def split(total: int, weights: Iterable[int]) -> list[int]:
    """``total`` in parts proportional to ``weights``, summing exactly to it."""
    weights = list(weights)
    parts = [total * w // sum(weights) for w in weights]
    for i in range(total - sum(parts)):
        parts[i % len(parts)] += 1
    return parts


def build_facts() -> list[Fact]:
    facts = []
    weights = [weight for weight, _ in PLACES.values()]
    for indicator, (*_, totals) in INDICATORS.items():
        for dimension, total in totals.items():
            for (province, (_, regencies)), in_province in zip(
                PLACES.items(), split(total, weights), strict=True
            ):
                regency_weights = [2, 1, 1][: len(regencies)]
                for regency, in_regency in zip(
                    regencies, split(in_province, regency_weights), strict=True
                ):
                    for month, value in enumerate(split(in_regency, MONTH_WEIGHTS), start=1):
                        fact = Fact(indicator, province, regency, month, dimension, value)
                        facts += [fact] if value else []
    return facts


FACTS = build_facts()


class IndicatorDefinition(BaseModel):
    id: str
    unit: str
    title_id: str
    title_en: str
    definition: str
    dimensions: list[str]


class Point(BaseModel):
    key: str
    value: int


class IndicatorSeries(BaseModel):
    indicator: str
    unit: str
    fiscal_year: int
    total: int
    points: list[Point]


class Progress(BaseModel):
    indicator: str
    province: str
    regency: str | None
    actual: int
    target: int
    percent: float
    expected_percent: float
    on_track: bool


class ProvinceRow(BaseModel):
    province: str
    name: str
    values: dict[str, int]
    progress: dict[str, Progress]


class Target(BaseModel):
    indicator: str
    fiscal_year: int
    province: str
    regency: str | None
    value: int


def actual(indicator: str, province: str | None = None, regency: str | None = None) -> int:
    """The stub's figure for an indicator and place (tests assert the page shows these)."""
    return sum(
        f.value
        for f in FACTS
        if f.indicator == indicator
        and (province is None or f.province == province)
        and (regency is None or f.regency == regency)
    )


def _scope(caller: Caller, province: str | None) -> str | None:
    if caller.role in ("partner", "enterprise"):
        raise Forbidden(f"role {caller.role!r} may not read the program figures")
    if caller.role == "regional":
        if province is not None and province != caller.province:
            raise Forbidden(f"a regional officer sees only province {caller.province}")
        return caller.province
    return province


def _progress(
    fiscal_year: int | None, province: str | None, indicator: str | None
) -> list[Progress]:
    if (fiscal_year or FISCAL_YEAR) != FISCAL_YEAR:
        return []
    items = []
    for (ind, prov, regency), share in TARGET_SHARES.items():
        if (province and prov != province) or (indicator and ind != indicator):
            continue
        done = actual(ind, prov, regency)
        target = round(done * share)
        percent = round(100 * done / target, 1)
        items.append(Progress(
            indicator=ind, province=prov, regency=regency, actual=done, target=target,
            percent=percent, expected_percent=EXPECTED_PERCENT,
            on_track=percent >= EXPECTED_PERCENT,
        ))  # fmt: skip
    return items


def stub_insights_app() -> FastAPI:
    """The dashboard router plus a stub of the insights API (see the module docstring)."""
    app = FastAPI(title="insights API stub (dashboard tests)")
    app.state.token_verifier = TokenVerifier(secret=DEV_JWT_SECRET)
    install_error_handlers(app)
    app.include_router(dashboard_router)

    @app.get("/indicators")
    async def indicators(caller: CurrentCaller) -> Listing[IndicatorDefinition]:
        _scope(caller, None)
        return Listing(items=[
            IndicatorDefinition(id=key, unit=unit, title_id=tid, title_en=ten,
                                definition=f"stub: {ten}", dimensions=[dim] if dim else [])
            for key, (unit, tid, ten, dim, _) in INDICATORS.items()
        ])  # fmt: skip

    @app.get("/indicators/{indicator}")
    async def series(
        indicator: str,
        caller: CurrentCaller,
        fiscal_year: int | None = None,
        province: str | None = None,
        regency: str | None = None,
        by: Literal["month", "province", "regency", "dimension"] = "month",
        dimension: str | None = None,
    ) -> IndicatorSeries:
        province = _scope(caller, province)
        if indicator not in INDICATORS:
            raise NotFound(f"no indicator {indicator!r}")
        year = fiscal_year or FISCAL_YEAR
        facts = [
            f for f in FACTS
            if f.indicator == indicator and year == FISCAL_YEAR
            and (province is None or f.province == province)
            and (regency is None or f.regency == regency)
        ]  # fmt: skip
        sums: dict[str, int] = defaultdict(int)
        for f in facts:
            key = {"month": f"{year}-{f.month:02d}", "province": f.province,
                   "regency": f.regency, "dimension": f.dimension}[by]  # fmt: skip
            sums[key] += f.value
        if by == "month":
            sums = {f"{year}-{m:02d}": sums.get(f"{year}-{m:02d}", 0) for m in range(1, 13)}
        return IndicatorSeries(
            indicator=indicator,
            unit=INDICATORS[indicator][0],
            fiscal_year=year,
            total=sum(f.value for f in facts),
            points=[Point(key=k, value=v) for k, v in sorted(sums.items())],
        )

    @app.get("/provinces")
    async def provinces(
        caller: CurrentCaller, fiscal_year: int | None = None, indicators: str = ""
    ) -> Listing[ProvinceRow]:
        own = _scope(caller, None)
        wanted = [i for i in indicators.split(",") if i] or list(INDICATORS)
        rows = []
        for province in PLACES:
            if own is not None and province != own:
                continue
            progress = {
                p.indicator: p for p in _progress(fiscal_year, province, None) if not p.regency
            }
            rows.append(ProvinceRow(
                province=province, name=PROVINCES[province],
                values={i: actual(i, province) if (fiscal_year or FISCAL_YEAR) == FISCAL_YEAR else 0
                        for i in wanted},
                progress={i: p for i, p in progress.items() if i in wanted},
            ))  # fmt: skip
        return Listing(items=rows)

    @app.get("/progress")
    async def progress(
        caller: CurrentCaller,
        fiscal_year: int | None = None,
        indicator: str | None = None,
        province: str | None = None,
    ) -> Listing[Progress]:
        return Listing(items=_progress(fiscal_year, _scope(caller, province), indicator))

    @app.get("/targets")
    async def targets(
        caller: CurrentCaller,
        fiscal_year: Annotated[int | None, Query()] = None,
        province: str | None = None,
    ) -> Listing[Target]:
        return Listing(items=[
            Target(indicator=p.indicator, fiscal_year=FISCAL_YEAR, province=p.province,
                   regency=p.regency, value=p.target)
            for p in _progress(fiscal_year, _scope(caller, province), None)
        ])  # fmt: skip

    return app
