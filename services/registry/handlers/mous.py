"""MoU use cases: draft, sign, terminate, and the expiry of those past their end date."""

from __future__ import annotations

import contextlib
import uuid

from ikmkit.auth import Caller
from ikmkit.clock import jakarta_date
from ikmkit.service.errors import InvalidInput
from ikmkit.store import RETRYABLE
from ikmkit.unit_of_work import Units
from services.registry import queries
from services.registry.commands import DraftMoU, SignMoU, TerminateMoU
from services.registry.domain import access, link_rules
from services.registry.domain.mou import MoU
from services.registry.store import RegistryUnit


async def draft_mou(uow: RegistryUnit, cmd: DraftMoU, caller: Caller) -> MoU:
    mou = MoU.draft(
        mou_id=f"mou-{uuid.uuid4().hex[:16]}",
        title=cmd.title,
        scope=cmd.scope,
        parties=cmd.parties,
        valid_from=cmd.valid_from,
        valid_until=cmd.valid_until,
        document_ref=cmd.document_ref,
        province=cmd.province,
        regency=cmd.regency,
        created_by=caller.subject,
        created_at=uow.now,
    )
    access.authorize_draft_mou(caller, mou.party_ids(role="party"))
    wanted = list(link_rules.non_ministry_parties(mou.parties))
    unknown = sorted(set(wanted) - await uow.partners.existing(wanted))
    if unknown:
        raise InvalidInput(
            f"not registered partners: {', '.join(unknown)}",
            field="parties",
            rule="unknown_partner",
        )
    return await uow.mous.add(mou)


async def sign_mou(uow: RegistryUnit, mou_id: str, cmd: SignMoU, caller: Caller) -> MoU:
    access.authorize_sign_mou(caller)
    current = await uow.mous.get(mou_id)
    document_ref = cmd.document_ref or current.document_ref
    if not document_ref:
        raise InvalidInput(
            "a signed MoU needs its document reference", field="document_ref", rule="required"
        )
    today = jakarta_date(uow.now)
    changed = current.sign(cmd.signed_on or today, document_ref, today, uow.now)
    return await uow.mous.save(uow.collect(changed))


async def terminate_mou(uow: RegistryUnit, mou_id: str, cmd: TerminateMoU, caller: Caller) -> MoU:
    access.require_mou_role(caller, *access.MOU_ENDERS)
    current = await uow.mous.get(mou_id)
    access.authorize_terminate_mou(caller, current)
    changed = current.terminate(cmd.reason, caller.subject, uow.now)
    return await uow.mous.save(uow.collect(changed))


async def expire_mou(uow: RegistryUnit, mou_id: str) -> bool:
    """Expire one MoU if it is (still) due: one terminated meanwhile is left alone."""
    current = await uow.mous.get(mou_id)
    if not current.is_due_to_expire(jakarta_date(uow.now)):
        return False
    await uow.mous.save(uow.collect(current.expire(uow.now)))
    return True


async def expire_due_mous(units: Units[RegistryUnit], *, batch: int = 200) -> list[str]:
    """One pass of the expiry task: each signed MoU past its end date expires in its own unit
    of work (``MoUExpired``), ``batch`` read at a time until none is left (a pass expired one
    batch, the rest waiting a pass each); one that keeps losing races waits for the next pass."""
    expired: list[str] = []
    while True:
        due = await units.read(queries.due_mous, batch)
        done = [mou_id for mou_id in due if await _expired(units, mou_id)]
        expired += done
        if len(due) < batch or not done:
            return expired


async def _expired(units: Units[RegistryUnit], mou_id: str) -> bool:
    with contextlib.suppress(*RETRYABLE):
        return await units.run(expire_mou, mou_id)
    return False
