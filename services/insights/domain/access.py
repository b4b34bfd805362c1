"""Who may read the figures and set targets.

The ministry and services see everything; a regional officer sees only their own province
(asking for another is refused, naming the rule); partners and enterprises see no figures."""

from __future__ import annotations

from ikmkit.auth import Caller
from ikmkit.service.errors import Forbidden, InvalidInput


def authorize_set_target(caller: Caller) -> None:
    caller.require("ministry")


def authorize_read(caller: Caller) -> None:
    caller.require("ministry", "service", "regional")


def visible_province(caller: Caller, province: str | None) -> str | None:
    """The province a read is limited to: the one asked for (None: national), or for a
    regional officer their own; another province is refused."""
    authorize_read(caller)
    if caller.role != "regional":
        return province
    if province is not None and province != caller.province:
        raise Forbidden(
            f"a regional officer sees only the figures of province {caller.province}",
            field="province",
            rule="own_province",
        )
    return caller.province


def visible_place(
    caller: Caller, province: str | None, regency: str | None
) -> tuple[str | None, str | None]:
    """``visible_province`` for a read that may name a regency (which names its province)."""
    if regency is not None and province is None:
        province = regency[:2]
    province = visible_province(caller, province)
    if regency is not None and province is not None and not regency.startswith(province):
        raise InvalidInput(
            f"regency {regency} is not in province {province}",
            field="regency",
            rule="regency_province",
        )
    return province, regency
