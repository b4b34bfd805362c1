"""Who may see and do what in the registry: pure rules over the caller.

- ``ministry``: everything;
- ``regional``: only records of the province in its token; another province's enterprise is
  reported as not found (404), so its existence does not leak;
- ``partner``: its own partner record and the MoUs it is a party to;
- ``enterprise``: its own NIB;
- ``service``: other systems: reads, registrations, partner registration.
"""

from __future__ import annotations

from contracts.privacy import mask_nik
from contracts.values import Role
from ikmkit.auth import Caller
from ikmkit.service.errors import Forbidden, NotFound
from services.registry.domain.model import Enterprise
from services.registry.domain.mou import MoU


def _hidden(nib: str) -> NotFound:
    # The same words as a NIB that does not exist: a hidden enterprise is not revealed.
    return NotFound(f"enterprise {nib} not found")


def can_see_enterprise(caller: Caller, nib: str, province: str) -> bool:
    if caller.role in ("ministry", "service"):
        return True
    if caller.role == "regional":
        return caller.province == province
    if caller.role == "enterprise":
        return caller.nib == nib
    return False


READERS: tuple[Role, ...] = ("ministry", "service", "regional", "enterprise")


def require_reader(caller: Caller) -> None:
    """Checked before the enterprise is read: a partner gets one 403, registered or not."""
    caller.require(*READERS)


def authorize_read_enterprise(caller: Caller, enterprise: Enterprise) -> None:
    caller.require(*READERS)
    if not can_see_enterprise(caller, enterprise.nib, enterprise.province):
        raise _hidden(enterprise.nib)


def authorize_register(caller: Caller, province: str) -> None:
    caller.require("ministry", "regional", "service")
    if caller.role == "regional" and caller.province != province:
        raise Forbidden(
            f"a regional officer of province {caller.province} registers only there",
            field="province",
            rule="other_province",
        )


def authorize_import(caller: Caller) -> None:
    """A bulk import: the roles that register; a regional officer's rows outside its province
    are rejected row by row (``may_import_into``)."""
    caller.require("ministry", "regional", "service")


def may_import_into(caller: Caller, province: str) -> bool:
    return caller.sees_province(province)


OFFICERS: tuple[Role, ...] = ("ministry", "regional")
EDITORS: tuple[Role, ...] = ("ministry", "regional", "enterprise")


def require_officer(caller: Caller) -> None:
    """Verify, suspend, reinstate: checked before the enterprise is read, so another role
    gets one 403 whether the NIB is registered or not (no existence oracle)."""
    caller.require(*OFFICERS)


def require_editor(caller: Caller) -> None:
    """``require_officer`` for a change of fields (the enterprise itself may make one)."""
    caller.require(*EDITORS)


def authorize_officer_action(caller: Caller, enterprise: Enterprise) -> None:
    """Verify, suspend, reinstate: the ministry, or a regional officer of that province."""
    caller.require(*OFFICERS)
    if not can_see_enterprise(caller, enterprise.nib, enterprise.province):
        raise _hidden(enterprise.nib)


def authorize_edit(caller: Caller, enterprise: Enterprise) -> None:
    caller.require(*EDITORS)
    if not can_see_enterprise(caller, enterprise.nib, enterprise.province):
        raise _hidden(enterprise.nib)


def as_seen_by(caller: Caller, enterprise: Enterprise) -> Enterprise:
    """What the caller may read: other systems see the owner's NIK masked."""
    if caller.role in ("ministry", "regional", "enterprise") or enterprise.owner_nik is None:
        return enterprise
    return enterprise.model_copy(update={"owner_nik": mask_nik(enterprise.owner_nik)})


def visible_province(caller: Caller, requested: str | None) -> str | None:
    """The province a listing or a statistic is limited to."""
    caller.require("ministry", "service", "regional")
    if caller.role != "regional":
        return requested
    if requested is not None and requested != caller.province:
        raise Forbidden(
            f"a regional officer of province {caller.province} sees only that province",
            field="province",
            rule="other_province",
        )
    return caller.province


def authorize_register_partner(caller: Caller) -> None:
    caller.require("ministry", "service")


def can_see_partner(caller: Caller, partner_id: str) -> bool:
    if caller.role == "partner":
        return caller.partner_id == partner_id
    return caller.role in ("ministry", "service", "regional")


def authorize_read_partner(caller: Caller, partner_id: str) -> None:
    caller.require("ministry", "service", "regional", "partner")
    if not can_see_partner(caller, partner_id):
        raise NotFound(f"partner {partner_id} not found")


def visible_partner(caller: Caller) -> str | None:
    """The one partner a partner listing is limited to (a partner sees only itself)."""
    caller.require("ministry", "service", "regional", "partner")
    return (caller.partner_id or "") if caller.role == "partner" else None


def authorize_import_partners(caller: Caller) -> None:
    caller.require("ministry", "service")


def authorize_import_mous(caller: Caller) -> None:
    """An MoU import drafts and signs: the ministry alone signs."""
    caller.require("ministry")


MOU_READERS: tuple[Role, ...] = ("ministry", "service", "regional", "partner")
MOU_ENDERS: tuple[Role, ...] = ("ministry", "partner")


def require_mou_role(caller: Caller, *roles: Role) -> None:
    """Checked before the MoU is read: another role gets one 403, whether it exists or not."""
    caller.require(*roles)


def authorize_read_mou(caller: Caller, mou: MoU) -> None:
    caller.require(*MOU_READERS)
    if caller.role == "partner" and caller.partner_id not in mou.party_ids():
        raise NotFound(f"MoU {mou.mou_id} not found")


def visible_party(caller: Caller, requested: str | None) -> str | None:
    """The party an MoU listing is limited to: a partner sees only its own MoUs."""
    caller.require("ministry", "service", "regional", "partner")
    if caller.role != "partner":
        return requested
    if requested is not None and requested != caller.partner_id:
        raise Forbidden("a partner sees only its own MoUs", field="party", rule="other_partner")
    return caller.partner_id


def authorize_draft_mou(caller: Caller, party_ids: list[str]) -> None:
    """``party_ids``: the parties' ids, witnesses not among them."""
    caller.require("ministry", "partner")
    if caller.role == "partner" and caller.partner_id not in party_ids:
        raise Forbidden(
            "a partner drafts only MoUs it is a party to", field="parties", rule="not_a_party"
        )


def authorize_sign_mou(caller: Caller) -> None:
    caller.require("ministry")


def authorize_terminate_mou(caller: Caller, mou: MoU) -> None:
    """The ministry, or a partner that is a party to it; a witness (which reads it) does not
    end the parties' agreement."""
    caller.require(*MOU_ENDERS)
    if caller.role != "partner":
        return
    if caller.partner_id not in mou.party_ids():
        raise NotFound(f"MoU {mou.mou_id} not found")
    if caller.partner_id not in mou.party_ids(role="party"):
        raise Forbidden(
            "a witness does not end an MoU; its parties or the ministry do",
            field="parties",
            rule="not_a_party",
        )
