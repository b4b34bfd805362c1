"""Partner use cases: register a partner organisation."""

from __future__ import annotations

import uuid

from ikmkit.auth import Caller
from ikmkit.service.errors import Conflict, Violations
from services.registry.commands import RegisterPartner
from services.registry.domain import access
from services.registry.domain.partner import Partner
from services.registry.store import RegistryUnit


async def register_partner(uow: RegistryUnit, cmd: RegisterPartner, caller: Caller) -> Partner:
    access.authorize_register_partner(caller)
    partner_id = cmd.partner_id or f"p-{uuid.uuid4().hex[:12]}"
    violations = Violations()
    registered = Partner.checked(
        {**cmd.model_dump(), "partner_id": partner_id}, uow.now, violations
    )
    violations.raise_all()
    assert registered is not None
    existing = await uow.partners.find_one(partner_id)
    if existing is not None:
        raise Conflict(
            f"partner {partner_id} already exists: {existing.name}",
            field="partner_id",
            rule="duplicate",
        )
    return await uow.partners.add(uow.collect(registered))
