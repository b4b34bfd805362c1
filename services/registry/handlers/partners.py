"""Partner use cases: register a partner organisation."""

from __future__ import annotations

import uuid

from ikmkit.auth import Caller
from ikmkit.service.errors import Conflict
from services.registry.commands import RegisterPartner
from services.registry.domain import access, rules
from services.registry.domain.model import Partner
from services.registry.store import RegistryUnit


async def register_partner(uow: RegistryUnit, cmd: RegisterPartner, caller: Caller) -> Partner:
    access.authorize_register_partner(caller)
    partner_id = rules.check_partner_id(cmd.partner_id or f"p-{uuid.uuid4().hex[:12]}")
    country = rules.check_country(cmd.country)
    province, regency = rules.check_partner_region(country, cmd.province, cmd.regency)
    existing = await uow.partners.find_one(partner_id)
    if existing is not None:
        raise Conflict(
            f"partner {partner_id} already exists: {existing.name}",
            field="partner_id",
            rule="duplicate",
        )
    registered = Partner.register(
        partner_id=partner_id,
        name=rules.check_text(cmd.name, "name"),
        partner_type=cmd.partner_type,
        country=country,
        province=province,
        regency=regency,
        contact_email=cmd.contact_email,
        preferred_language=cmd.preferred_language,
        memberships=cmd.memberships,
        registered_at=uow.now,
    )
    return await uow.partners.add(uow.collect(registered))
