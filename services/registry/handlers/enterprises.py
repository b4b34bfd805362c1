"""Enterprise use cases: register, update, verify, suspend, reinstate; and the one-off pass
that keys campaign tag rows stored before ``campaign_key``."""

from __future__ import annotations

import contextlib

from ikmkit.auth import Caller
from ikmkit.service.errors import Conflict, InvalidInput, Violations
from ikmkit.store import DuplicateKey
from ikmkit.unit_of_work import Units, contended
from services.registry.commands import RegisterEnterprise, StatusChange, UpdateEnterprise
from services.registry.domain import access
from services.registry.domain.facts import EnterpriseFacts
from services.registry.domain.model import Enterprise
from services.registry.store import CAMPAIGN_KEYS, RegistryUnit


def valid_facts(data: dict[str, object], *, typed: bool = False) -> EnterpriseFacts:
    """The facts after every rule, or the first rule broken (``InvalidInput``); ``typed``:
    ``data`` is a request model's, its shared value types already checked (``check_fields``)."""
    violations = Violations()
    facts = EnterpriseFacts.checked(data, violations, typed=typed)
    violations.raise_all()
    assert facts is not None
    return facts


def command_data(cmd: RegisterEnterprise) -> dict[str, object]:
    """``cmd.model_dump()`` as the rules read it, without dumping what is already plain: its
    values are text, numbers and lists of text the rules do not change, but a store is a
    model, which the rules take as the dict it dumps to."""
    return cmd.model_dump() if cmd.marketplace_stores else cmd.__dict__


# A registration racing another of the same NIB runs again, to answer with the record it lost to.
@contended(5, also=(DuplicateKey,))
async def register_enterprise(
    uow: RegistryUnit, cmd: RegisterEnterprise, caller: Caller
) -> Enterprise:
    access.authorize_register(caller, cmd.province)
    facts = valid_facts(command_data(cmd), typed=True)  # RegisterEnterprise's types
    existing = await uow.enterprises.find_one(cmd.nib)
    if existing is not None:
        raise _already_registered(existing, caller)
    registered = Enterprise.register(cmd.nib, facts, uow.now)
    # Absent, so its event stream is too: the outbox need not read the stream's head.
    return await uow.enterprises.add(uow.collect(registered, new=True))


def _already_registered(existing: Enterprise, caller: Caller) -> Conflict:
    nib = existing.nib
    if access.can_see_enterprise(caller, nib, existing.province):
        return Conflict(
            f"NIB {nib} is already registered: {existing.name} (province {existing.province},"
            f" status {existing.status}, GET /enterprises/{nib})",
            field="nib",
            rule="duplicate",
        )
    return Conflict(f"NIB {nib} is already registered", field="nib", rule="duplicate")


async def update_enterprise(
    uow: RegistryUnit, nib: str, cmd: UpdateEnterprise, caller: Caller
) -> Enterprise:
    access.require_editor(caller)
    current = await uow.enterprises.get(nib)
    access.authorize_edit(caller, current)
    if cmd.version != current.version:
        raise Conflict(
            f"enterprise {nib} is at version {current.version}, not {cmd.version};"
            " read it again and reapply the change",
            field="version",
            rule="version_conflict",
        )
    changes = cmd.model_dump(exclude_unset=True, exclude={"version"})
    _refuse_cleared_required(changes)
    facts = valid_facts({**current.facts().model_dump(), **changes})
    changed = current.update(facts, uow.now)
    if not changed.events:
        return current
    return await uow.enterprises.save(uow.collect(changed))


CLEARABLE = frozenset(
    name for name, info in EnterpriseFacts.model_fields.items() if info.default is None
)
"""The facts a PATCH may clear with ``null`` (contacts, postal code); every other one is kept."""


def _refuse_cleared_required(changes: dict[str, object]) -> None:
    """A ``null`` for a field every enterprise has is that field's 422, not a change (the
    rules skip a missing value, so it would reach the facts' model and fail there as a 500)."""
    found = Violations()
    for name, value in changes.items():
        if value is None and name not in CLEARABLE:
            found.found.append(
                InvalidInput(
                    f"{name} cannot be null; leave it out to keep it",
                    field=name,
                    rule="required",
                )
            )
    found.raise_all()


async def verify_enterprise(uow: RegistryUnit, nib: str, caller: Caller) -> Enterprise:
    access.require_officer(caller)
    current = await uow.enterprises.get(nib)
    access.authorize_officer_action(caller, current)
    return await uow.enterprises.save(uow.collect(current.verify(caller.subject, uow.now)))


async def suspend_enterprise(
    uow: RegistryUnit, nib: str, cmd: StatusChange, caller: Caller
) -> Enterprise:
    access.require_officer(caller)
    current = await uow.enterprises.get(nib)
    access.authorize_officer_action(caller, current)
    changed = current.suspend(cmd.reason, caller.subject, uow.now)
    return await uow.enterprises.save(uow.collect(changed))


async def reinstate_enterprise(
    uow: RegistryUnit, nib: str, cmd: StatusChange, caller: Caller
) -> Enterprise:
    access.require_officer(caller)
    current = await uow.enterprises.get(nib)
    access.authorize_officer_action(caller, current)
    changed = current.reinstate(cmd.reason, caller.subject, uow.now)
    return await uow.enterprises.save(uow.collect(changed))


async def key_campaign_rows(units: Units[RegistryUnit], *, batch: int = 500) -> bool:
    """Once per store: the campaign tag rows a release before ``campaign_key`` wrote under
    the spelling typed (``campaign:#SemuanyaAdaDisini``) moved to their key's row, so
    ``GET /enterprises?campaign=`` lists them under every spelling. A page a unit of work;
    then marked done (``CAMPAIGN_KEYS``). Whether it ran."""
    if await units.read(_marked, CAMPAIGN_KEYS):
        return False
    cursor = await units.run(_rekey_page, None, batch)
    while cursor is not None:
        cursor = await units.run(_rekey_page, cursor, batch)
    with contextlib.suppress(DuplicateKey):  # a second replica of the service marked it first
        await units.run(_mark, CAMPAIGN_KEYS)
    return True


async def _marked(uow: RegistryUnit, name: str) -> bool:
    return await uow.marked(name)


async def _mark(uow: RegistryUnit, name: str) -> None:
    await uow.mark(name)


# A registration or update writing the same key row first: the page runs again.
@contended(5, also=(DuplicateKey,))
async def _rekey_page(uow: RegistryUnit, cursor: str | None, batch: int) -> str | None:
    return await uow.enterprises.rekey_campaign_rows(cursor, batch)
