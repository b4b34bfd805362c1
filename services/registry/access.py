"""Who may see and do what in the registry: pure rules over the caller's principal.

- ``ministry``: everything;
- ``regional``: only records of the province in its token; another province's enterprise is
  reported as not found (404), so its existence does not leak;
- ``partner``: its own partner record and the MoUs it is a party to;
- ``enterprise``: its own NIB;
- ``service``: other systems: reads, registrations, partner registration.
"""

from __future__ import annotations

from ikmkit.auth import Caller
from ikmkit.service.errors import Forbidden, NotFound


def may_see_enterprise(actor: Caller, nib: str, province: str) -> bool:
    if actor.role in ("ministry", "service"):
        return True
    if actor.role == "regional":
        return actor.province == province
    if actor.role == "enterprise":
        return actor.nib == nib
    return False


def ensure_sees_enterprise(actor: Caller, nib: str, province: str) -> None:
    actor.require("ministry", "service", "regional", "enterprise")
    if not may_see_enterprise(actor, nib, province):
        raise NotFound(f"no enterprise with NIB {nib}")


def ensure_registers_in(actor: Caller, province: str) -> None:
    actor.require("ministry", "regional", "service")
    if actor.role == "regional" and actor.province != province:
        raise Forbidden(
            f"a regional officer of province {actor.province} registers only there",
            field="province",
            rule="other_province",
        )


def ensure_officer_of(actor: Caller, nib: str, province: str) -> None:
    """Verify, suspend, reinstate: the ministry, or a regional officer of that province."""
    actor.require("ministry", "regional")
    if not may_see_enterprise(actor, nib, province):
        raise NotFound(f"no enterprise with NIB {nib}")


def ensure_edits_enterprise(actor: Caller, nib: str, province: str) -> None:
    actor.require("ministry", "regional", "enterprise")
    if not may_see_enterprise(actor, nib, province):
        raise NotFound(f"no enterprise with NIB {nib}")


def province_scope(actor: Caller, requested: str | None) -> str | None:
    """The province a listing or a statistic is limited to."""
    actor.require("ministry", "service", "regional")
    if actor.role != "regional":
        return requested
    if requested is not None and requested != actor.province:
        raise Forbidden(
            f"a regional officer of province {actor.province} sees only that province",
            field="province",
            rule="other_province",
        )
    return actor.province


def may_see_partner(actor: Caller, partner_id: str) -> bool:
    if actor.role == "partner":
        return actor.partner_id == partner_id
    return actor.role in ("ministry", "service", "regional")


def ensure_sees_mou(actor: Caller, mou_id: str, party_ids: list[str]) -> None:
    actor.require("ministry", "service", "regional", "partner")
    if actor.role == "partner" and actor.partner_id not in party_ids:
        raise NotFound(f"no MoU {mou_id}")


def party_scope(actor: Caller, requested: str | None) -> str | None:
    """The party an MoU listing is limited to: a partner sees only its own MoUs."""
    actor.require("ministry", "service", "regional", "partner")
    if actor.role != "partner":
        return requested
    if requested is not None and requested != actor.partner_id:
        raise Forbidden("a partner sees only its own MoUs", field="party", rule="other_partner")
    return actor.partner_id


def ensure_drafts_mou(actor: Caller, party_ids: list[str]) -> None:
    actor.require("ministry", "partner")
    if actor.role == "partner" and actor.partner_id not in party_ids:
        raise Forbidden(
            "a partner drafts only MoUs it is a party to", field="parties", rule="not_a_party"
        )


def ensure_terminates_mou(actor: Caller, mou_id: str, party_ids: list[str]) -> None:
    actor.require("ministry", "partner")
    if actor.role == "partner" and actor.partner_id not in party_ids:
        raise NotFound(f"no MoU {mou_id}")
