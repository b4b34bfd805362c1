"""Setting a target (ministry only): a new one, or a new value for an existing one."""

from __future__ import annotations

from contracts.insights import target_id
from ikmkit.auth import Caller
from ikmkit.service.errors import InvalidInput, Violations
from services.insights.commands import SetTarget
from services.insights.domain import access
from services.insights.domain.indicators import INDICATORS, require_regency_figures
from services.insights.domain.model import Target
from services.insights.domain.places import check_regency
from services.insights.store import InsightsUnit


async def set_target(uow: InsightsUnit, cmd: SetTarget, caller: Caller) -> Target:
    access.authorize_set_target(caller)
    _check(cmd)
    by, at = caller.subject, uow.now
    existing = await uow.targets.find_one(
        target_id(cmd.indicator, cmd.fiscal_year, cmd.province, cmd.regency)
    )
    if existing is not None:
        return await uow.targets.save(uow.collect(existing.change(cmd.value, by, at)))
    where = (cmd.indicator, cmd.fiscal_year, cmd.province, cmd.regency)
    return await uow.targets.add(uow.collect(Target.set(*where, cmd.value, by, at)))


def _check(cmd: SetTarget) -> None:
    found = Violations()
    found.check(_check_indicator, cmd.indicator)
    if cmd.regency is not None and cmd.indicator in INDICATORS:
        # As the series refuses it: a regency's target of figures kept per province only
        # (budgets) could never be reached.
        found.check(require_regency_figures, INDICATORS[cmd.indicator], cmd.regency, "month")
    found.check(check_regency, cmd.regency)
    if cmd.regency is not None and not cmd.regency.startswith(cmd.province):
        found.found.append(
            InvalidInput(
                f"regency {cmd.regency} is not in province {cmd.province}",
                field="regency",
                rule="regency_province",
            )
        )
    found.raise_all()


def _check_indicator(indicator: str) -> None:
    if indicator not in INDICATORS:
        raise InvalidInput(
            f"unknown indicator {indicator!r}", field="indicator", rule="indicator_unknown"
        )
    if INDICATORS[indicator].ratio is not None:
        raise InvalidInput(
            f"{indicator} is a percentage computed when read; set targets on its parts",
            field="indicator",
            rule="indicator_not_targetable",
        )
