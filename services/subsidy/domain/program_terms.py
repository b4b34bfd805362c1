"""The terms a new program must satisfy (``program_rules``): its window within one fiscal
year, its share and caps, its budgets and eligible KBLI ranges, each rule with the fields it
reads, so a body its request model refused is held to those its accepted fields allow."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from contracts.values import is_province
from ikmkit.clock import WIB
from ikmkit.service.errors import InvalidInput, Violations

if TYPE_CHECKING:
    from services.subsidy.domain.programs import KbliRange, Program

_KBLI = re.compile(r"[0-9]{5}")  # fullmatch: no final newline, ASCII digits


def program_rules(fields: Mapping[str, Any], found: Violations) -> None:
    """Every rule of a new program whose fields ``fields`` has (a program: all of them; a body
    its request model refused: those it accepted), each broken one kept in ``found``, in this
    order."""
    for needed, rule in _PROGRAM_RULES:
        if all(name in fields for name in needed):
            found.check(rule, *(fields[name] for name in needed))


def check_program(program: Program) -> Program:
    """Every rule a new program must satisfy; one ``InvalidInput`` (or ``InvalidInputs``)
    naming every field that breaks one."""
    found = Violations()
    program_rules(dict(program), found)
    found.raise_all()
    return program


def check_times(opens_at: datetime, closes_at: datetime) -> None:
    found = Violations()
    for name, value in (("opens_at", opens_at), ("closes_at", closes_at)):
        if value.tzinfo is None:
            found.check(fail, "times need a timezone (UTC)", at=name, code="timezone")
    found.raise_all()


def fail(message: str, *, at: str, code: str) -> None:
    # ``at``/``code``, not ``field``/``rule``: ``Violations.check`` takes ``rule`` itself.
    raise InvalidInput(message, field=at, rule=code)


def _check_share(share_percent: int | None) -> None:
    # None: the request left it out, and the kind's default applies.
    if share_percent is not None and not 1 <= share_percent <= 100:
        raise InvalidInput("share must be 1..100 percent", field="share_percent", rule="range")


def _positive(name: str) -> Callable[[int], None]:
    def check(rupiah: int) -> None:
        if rupiah <= 0:
            raise InvalidInput(f"{name} must be positive", field=name, rule="positive")

    return check


def _check_caps(per_application: int, per_enterprise: int) -> None:
    if per_application > per_enterprise:
        raise InvalidInput(
            "cap per application cannot exceed the cap per enterprise",
            field="cap_per_application_rupiah",
            rule="not_above_enterprise_cap",
        )


def _check_year(fiscal_year: int) -> None:
    if not 2000 <= fiscal_year <= 2100:
        raise InvalidInput("fiscal year out of range", field="fiscal_year", rule="range")


def _zoned(*times: datetime) -> bool:
    return all(t.tzinfo is not None for t in times)  # check_times names the others


def _check_order(opens_at: datetime, closes_at: datetime) -> None:
    if _zoned(opens_at, closes_at) and closes_at <= opens_at:
        raise InvalidInput("window closes before it opens", field="closes_at", rule="after_opens")


def fiscal_year_bounds(year: int) -> tuple[datetime, datetime]:
    """A fiscal year (APBN: 1 January to 31 December) as the instants it spans in Jakarta."""
    return datetime(year, 1, 1, tzinfo=WIB), datetime(year + 1, 1, 1, tzinfo=WIB)


def _check_fiscal_window(fiscal_year: int, opens_at: datetime, closes_at: datetime) -> None:
    """A program spends one fiscal year's money (and its enterprise cap is that year's), so it
    takes applications only within that year."""
    if not (_zoned(opens_at, closes_at) and opens_at < closes_at and 2000 <= fiscal_year <= 2100):
        return  # the other rules name what is wrong
    starts, ends = fiscal_year_bounds(fiscal_year)
    found = Violations()
    message = f"the window must lie in fiscal year {fiscal_year} (1 Jan-31 Dec, WIB)"
    if not starts <= opens_at < ends:
        found.check(fail, message, at="opens_at", code="outside_fiscal_year")
    if not starts < closes_at <= ends:
        found.check(fail, message, at="closes_at", code="outside_fiscal_year")
    found.raise_all()


def _check_budgets(province_budgets: dict[str, int], national_reserve_rupiah: int) -> None:
    found = Violations()
    amounts = [*province_budgets.values(), national_reserve_rupiah]
    for province, amount in province_budgets.items():
        where = f"province_budgets.{province}"
        if not is_province(province):
            found.check(
                fail,
                f"{province!r} is not one of the Kemendagri province codes",
                at=where,
                code="province_unknown",
            )
        if amount < 0:
            found.check(fail, "budget cannot be negative", at=where, code="min_0")
    if national_reserve_rupiah < 0:
        found.check(fail, "budget cannot be negative", at="national_reserve_rupiah", code="min_0")
    elif min(amounts) >= 0 and sum(amounts) == 0:  # nothing to spend (zeros are no budget)
        found.check(fail, "a program needs a budget", at="province_budgets", code="required")
    found.raise_all()


def _check_kbli_ranges(ranges: Sequence[KbliRange]) -> None:
    found = Violations()
    for i, kbli_range in enumerate(ranges):
        where = f"eligible_kbli_ranges[{i}]"
        if not (_KBLI.fullmatch(kbli_range.from_kbli) and _KBLI.fullmatch(kbli_range.to_kbli)):
            found.check(fail, "KBLI codes have 5 digits", at=where, code="kbli_format")
        elif kbli_range.from_kbli > kbli_range.to_kbli:
            found.check(fail, "range ends before it starts", at=where, code="order")
    found.raise_all()


_PROGRAM_RULES: tuple[tuple[tuple[str, ...], Callable[..., None]], ...] = (
    (("opens_at", "closes_at"), check_times),
    (("share_percent",), _check_share),
    (("cap_per_application_rupiah",), _positive("cap_per_application_rupiah")),
    (("cap_per_enterprise_rupiah",), _positive("cap_per_enterprise_rupiah")),
    (("cap_per_application_rupiah", "cap_per_enterprise_rupiah"), _check_caps),
    (("fiscal_year",), _check_year),
    (("opens_at", "closes_at"), _check_order),
    (("fiscal_year", "opens_at", "closes_at"), _check_fiscal_window),
    (("province_budgets", "national_reserve_rupiah"), _check_budgets),
    (("eligible_kbli_ranges",), _check_kbli_ranges),
)
"""The rules of a new program and the fields each reads (``program_rules``)."""
