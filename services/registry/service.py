"""Registry use cases: each takes a command and the ports it needs."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel

from contracts.registry import EnterpriseRegistered, OwnerContact
from ikmkit.errors import Conflict, NotFound
from ikmkit.outbox import Outbox
from ikmkit.store import DuplicateKey, Store

from services.registry import domain
from services.registry.domain import Enterprise
from services.registry.store import EnterpriseRepository


class RegisterEnterprise(BaseModel):
    nib: str
    name: str
    province: str
    regency: str
    kbli: str
    workforce: int
    investment_rupiah: int
    owner_name: str
    owner_email: str | None = None
    owner_phone: str | None = None
    preferred_language: str = "id"


async def register_enterprise(cmd: RegisterEnterprise, store: Store, outbox: Outbox) -> Enterprise:
    domain.check_nib(cmd.nib)
    enterprise = Enterprise(
        **cmd.model_dump(),
        directorate=domain.directorate_for(cmd.kbli),
        size_class=domain.size_class_for(cmd.workforce, cmd.investment_rupiah),
        registered_at=datetime.now(UTC),
    )
    try:
        async with store.transaction() as uow:
            saved = await EnterpriseRepository(uow).add(enterprise)
            await outbox.add(uow, _registered(saved))
    except DuplicateKey as exc:
        raise Conflict(
            f"enterprise with NIB {cmd.nib} already exists ({exc.existing_id})", field="nib"
        ) from exc
    return saved


def _registered(e: Enterprise) -> EnterpriseRegistered:
    return EnterpriseRegistered(
        nib=e.nib,
        name=e.name,
        province=e.province,
        regency=e.regency,
        kbli=e.kbli,
        directorate=e.directorate,
        size_class=e.size_class,
        workforce=e.workforce,
        investment_rupiah=e.investment_rupiah,
        owner=OwnerContact(
            name=e.owner_name,
            email=e.owner_email,
            phone=e.owner_phone,
            preferred_language="en" if e.preferred_language == "en" else "id",
        ),
        registered_at=e.registered_at,
    )


async def get_enterprise(nib: str, store: Store) -> Enterprise:
    async with store.transaction() as uow:
        found = await EnterpriseRepository(uow).get(nib)
    if found is None:
        raise NotFound(f"no enterprise with NIB {nib}")
    return found
