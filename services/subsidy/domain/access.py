"""Who may do what with programs, applications, budgets and statistics."""

from __future__ import annotations

from dataclasses import dataclass

from ikmkit.auth import Caller
from ikmkit.service.errors import Forbidden, NotFound
from services.subsidy.domain.model import Application


def authorize_create_program(caller: Caller) -> None:
    caller.require("ministry")


def authorize_apply(caller: Caller, nib: str, province: str | None) -> None:
    """``province``: the enterprise's, if it is known here."""
    if caller.role == "ministry":
        return
    if caller.role == "enterprise" and caller.nib == nib:
        return
    if caller.role == "regional" and province is not None and caller.province == province:
        return
    raise Forbidden("an enterprise applies only for its own NIB", field="nib", rule="own_nib")


def can_see_application(caller: Caller, app: Application) -> bool:
    if caller.role in ("ministry", "service"):
        return True
    if caller.role == "regional":
        return caller.province == app.province
    if caller.role == "enterprise":
        return caller.nib == app.nib
    return False


def _require_visible(caller: Caller, app: Application) -> None:
    """An application the caller may not read is, to an action on it, as missing as it is to
    a read: the repository's own 404, so another province's applications do not leak."""
    if not can_see_application(caller, app):
        raise NotFound(f"application {app.id} not found")


def authorize_review(caller: Caller, app: Application) -> None:
    """Reviewing (start review, reject) is for the ministry and the province's officers."""
    _require_visible(caller, app)
    if caller.role == "ministry":
        return
    if caller.role == "regional" and caller.province == app.province:
        return
    raise Forbidden(
        "only the ministry or a regional officer of the application's province may review it",
        rule="reviewer_scope",
    )


def authorize_approve(caller: Caller, app: Application, regional_limit_rupiah: int) -> None:
    authorize_review(caller, app)
    if caller.subject == app.submitted_by:
        # Four eyes: an officer who filed an application for an enterprise does not also
        # commit the ministry's money to it.
        raise Forbidden(
            "an officer does not approve an application it submitted; another officer must",
            rule="own_submission",
        )
    if caller.role == "regional" and app.requested_rebate_rupiah > regional_limit_rupiah:
        raise Forbidden(
            f"a regional officer approves rebates up to Rp {regional_limit_rupiah:,};"
            f" this one (Rp {app.requested_rebate_rupiah:,}) needs a ministry officer",
            rule="regional_approval_limit",
        )


def authorize_cancel(caller: Caller, app: Application) -> None:
    if caller.role == "enterprise" and caller.nib == app.nib:
        return
    authorize_review(caller, app)


def authorize_disburse(caller: Caller) -> None:
    if caller.role not in ("ministry", "service"):
        raise Forbidden("only the ministry (or its payment system) disburses", rule="role")


@dataclass(frozen=True)
class Scope:
    """The part of a list a caller may see: ``None`` is no restriction on that field."""

    nib: str | None = None
    province: str | None = None


def _own_province(caller: Caller, province: str | None) -> str | None:
    if province is not None and province != caller.province:
        raise Forbidden(
            "a regional officer sees only its own province", field="province", rule="scope"
        )
    return caller.province


def visible_applications(caller: Caller, nib: str | None, province: str | None) -> Scope:
    """The filter a search by ``nib`` and ``province`` becomes for this caller."""
    if caller.role == "enterprise":
        return Scope(nib=caller.nib, province=province)
    if caller.role == "regional":
        return Scope(nib=nib, province=_own_province(caller, province))
    if caller.role not in ("ministry", "service"):
        raise Forbidden("this role cannot list applications", rule="role")
    return Scope(nib=nib, province=province)


def visible_budgets(caller: Caller, province: str | None) -> str | None:
    """The province whose budgets the caller sees (``None``: every pool)."""
    if caller.role == "regional":
        return _own_province(caller, province)
    if caller.role not in ("ministry", "service"):
        raise Forbidden("budgets are for ministry and regional officers", rule="role")
    return province


def visible_stats(caller: Caller, province: str | None) -> str | None:
    """The province statistics are limited to: a regional officer's own (another is 403, as
    for budgets); ``None``: national."""
    if caller.role not in ("ministry", "regional", "service"):
        raise Forbidden("statistics are for officers", rule="role")
    if caller.role == "regional":
        return _own_province(caller, province)
    return province
