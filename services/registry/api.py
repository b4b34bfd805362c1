"""Registry HTTP API: each endpoint parses, runs one handler or query, and answers.

Every endpoint needs a bearer token (``ikm token ROLE``); what each role may see and do is
decided in ``services.registry.domain.access``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, status

from ikmkit.auth import CurrentCaller
from ikmkit.service.http import BULK_ROUTE
from ikmkit.service.idempotency import IDEMPOTENT_ROUTE, IdempotencyKey, idempotent
from ikmkit.service.lean_route import LeanRoute
from ikmkit.service.listing import Listing
from ikmkit.service.runtime import deps_of
from services.registry import commands, queries
from services.registry.bootstrap import Registry
from services.registry.domain.model import Enterprise
from services.registry.domain.mou import MoU
from services.registry.domain.partner import Partner
from services.registry.handlers import enterprises, imports, link_imports, mous, partners


async def _registry(request: Request) -> Registry:
    return deps_of(request, Registry)


Deps = Annotated[Registry, Depends(_registry)]

router = APIRouter(route_class=LeanRoute)
"""Writes of one JSON body answer through ``LeanRoute`` (FastAPI's general handler costs
~a quarter of a registration's HTTP plumbing); every other route is FastAPI's as before."""

# --- enterprises -----------------------------------------------------------------------------


@router.post("/enterprises", status_code=status.HTTP_201_CREATED, tags=["enterprises"])
async def register_enterprise(
    body: commands.RegisterEnterprise, caller: CurrentCaller, deps: Deps
) -> Enterprise:
    """Register an IKM (ministry, regional officer of its province, or a service)."""
    return await deps.units.run(enterprises.register_enterprise, body, caller)


@router.post(
    "/enterprises/import",
    tags=["enterprises"],
    operation_id="import_enterprises",
    openapi_extra=BULK_ROUTE,
    response_model_exclude_none=True,
)
async def import_enterprises(
    body: commands.ImportEnterprises, caller: CurrentCaller, deps: Deps
) -> imports.ImportResult:
    """Register up to 5000 enterprises; each row is checked on its own and answered with its
    result (``imported``, ``existing`` or ``rejected`` with every rule it breaks)."""
    return await deps.units.run(imports.import_enterprises, body, caller)


@router.get("/enterprises", tags=["enterprises"])
async def list_enterprises(
    query: Annotated[commands.EnterpriseQuery, Query()], caller: CurrentCaller, deps: Deps
) -> Listing[Enterprise]:
    """Filter by province, regency, KBLI, status, size class, marketplace platform and
    campaign; pass ``next_cursor`` on."""
    return await deps.units.read(queries.list_enterprises, query, caller)


@router.get("/enterprises/{nib}", tags=["enterprises"])
async def get_enterprise(nib: str, caller: CurrentCaller, deps: Deps) -> Enterprise:
    return await deps.units.read(queries.get_enterprise, nib, caller)


@router.patch("/enterprises/{nib}", tags=["enterprises"])
async def update_enterprise(
    nib: str, body: commands.UpdateEnterprise, caller: CurrentCaller, deps: Deps
) -> Enterprise:
    """Change fields; ``version`` must be the version read (else 409)."""
    return await deps.units.run(enterprises.update_enterprise, nib, body, caller)


@router.post("/enterprises/{nib}/verify", tags=["enterprises"])
async def verify_enterprise(nib: str, caller: CurrentCaller, deps: Deps) -> Enterprise:
    return await deps.units.run(enterprises.verify_enterprise, nib, caller)


@router.post("/enterprises/{nib}/suspend", tags=["enterprises"])
async def suspend_enterprise(
    nib: str, body: commands.StatusChange, caller: CurrentCaller, deps: Deps
) -> Enterprise:
    return await deps.units.run(enterprises.suspend_enterprise, nib, body, caller)


@router.post("/enterprises/{nib}/reinstate", tags=["enterprises"])
async def reinstate_enterprise(
    nib: str, body: commands.StatusChange, caller: CurrentCaller, deps: Deps
) -> Enterprise:
    return await deps.units.run(enterprises.reinstate_enterprise, nib, body, caller)


# --- partners --------------------------------------------------------------------------------


_REGISTER_PARTNER = idempotent(partners.register_partner, Partner, "POST /partners")
_DRAFT_MOU = idempotent(mous.draft_mou, MoU, "POST /mous")


@router.post(
    "/partners",
    status_code=status.HTTP_201_CREATED,
    tags=["partners"],
    openapi_extra=IDEMPOTENT_ROUTE,
)
async def register_partner(
    body: commands.RegisterPartner, caller: CurrentCaller, deps: Deps, key: IdempotencyKey
) -> Partner:
    """Register a partner. Without a ``partner_id`` each request is a new partner: send an
    ``Idempotency-Key`` so that a retry answers the first one (docs/registry.md)."""
    return await deps.units.run(_REGISTER_PARTNER, key, body, caller)


@router.post(
    "/partners/import",
    tags=["partners"],
    operation_id="import_partners",
    openapi_extra=BULK_ROUTE,
    response_model_exclude_none=True,
)
async def import_partners(
    body: commands.ImportPartners, caller: CurrentCaller, deps: Deps
) -> link_imports.PartnerImportResult:
    """Register up to 5000 partners; each row is answered with its result (``imported``,
    ``existing`` when its ``partner_id`` is registered, or ``rejected`` with every rule it
    breaks)."""
    return await deps.units.run(link_imports.import_partners, body, caller)


@router.get("/partners", tags=["partners"])
async def list_partners(
    query: Annotated[commands.PartnerQuery, Query()], caller: CurrentCaller, deps: Deps
) -> Listing[Partner]:
    """Filter by partner type, country and province; pass ``next_cursor`` on. A partner sees
    only itself."""
    return await deps.units.read(queries.list_partners, query, caller)


@router.get("/partners/{partner_id}", tags=["partners"])
async def get_partner(partner_id: str, caller: CurrentCaller, deps: Deps) -> Partner:
    return await deps.units.read(queries.get_partner, partner_id, caller)


# --- MoUs ------------------------------------------------------------------------------------


@router.post(
    "/mous", status_code=status.HTTP_201_CREATED, tags=["mous"], openapi_extra=IDEMPOTENT_ROUTE
)
async def draft_mou(
    body: commands.DraftMoU, caller: CurrentCaller, deps: Deps, key: IdempotencyKey
) -> MoU:
    """Create a draft MoU; the ministry takes part as a party or a witness. Send an
    ``Idempotency-Key`` to retry safely (a retry without one drafts a second MoU)."""
    return await deps.units.run(_DRAFT_MOU, key, body, caller)


@router.post(
    "/mous/import",
    tags=["mous"],
    operation_id="import_mous",
    openapi_extra=BULK_ROUTE,
    response_model_exclude_none=True,
)
async def import_mous(
    body: commands.ImportMoUs, caller: CurrentCaller, deps: Deps
) -> link_imports.MoUImportResult:
    """Draft (and, with ``signed_on``, sign) up to 5000 MoUs between registered partners; each
    row is answered with its result (``imported``, ``existing`` or ``rejected`` with every
    rule it breaks). Ministry only."""
    return await deps.units.run(link_imports.import_mous, body, caller)


@router.get("/mous", tags=["mous"])
async def list_mous(
    query: Annotated[commands.MoUQuery, Query()], caller: CurrentCaller, deps: Deps
) -> Listing[MoU]:
    return await deps.units.read(queries.list_mous, query, caller)


@router.get("/mous/{mou_id}", tags=["mous"])
async def get_mou(mou_id: str, caller: CurrentCaller, deps: Deps) -> MoU:
    return await deps.units.read(queries.get_mou, mou_id, caller)


@router.post("/mous/{mou_id}/sign", tags=["mous"])
async def sign_mou(mou_id: str, body: commands.SignMoU, caller: CurrentCaller, deps: Deps) -> MoU:
    return await deps.units.run(mous.sign_mou, mou_id, body, caller)


@router.post("/mous/{mou_id}/terminate", tags=["mous"])
async def terminate_mou(
    mou_id: str, body: commands.TerminateMoU, caller: CurrentCaller, deps: Deps
) -> MoU:
    return await deps.units.run(mous.terminate_mou, mou_id, body, caller)


# --- statistics ------------------------------------------------------------------------------


@router.get("/stats", tags=["stats"])
async def stats(caller: CurrentCaller, deps: Deps) -> queries.RegistryStats:
    """Enterprises by province, directorate, size class and status; MoUs by scope."""
    return await deps.units.read(queries.stats, caller)
