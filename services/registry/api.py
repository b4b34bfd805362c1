"""Registry HTTP API: translates requests into use-case calls, nothing more.

Every endpoint needs a bearer token (``ikm token ROLE``); what each role may see and do is
decided in ``services.registry.access``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, status

from ikmkit.auth import CurrentCaller
from ikmkit.service.runtime import runtime_of
from services.registry import service
from services.registry.domain import Enterprise, MoU, Partner
from services.registry.service import Clock, Ports


def build_router(clock: Clock = service.system_clock) -> APIRouter:
    """The registry's routes; ``clock`` is injectable so tests can move time."""
    router = APIRouter()

    async def ports(request: Request) -> Ports:
        runtime = runtime_of(request)
        return Ports(runtime.store, runtime.outbox, clock)

    # A default rather than ``Annotated``: annotations are strings here (PEP 563) and FastAPI
    # resolves them in the module's globals, where this closure's ``ports`` does not exist.
    uses_ports = Depends(ports)

    # --- enterprises ---------------------------------------------------------------------

    @router.post("/enterprises", status_code=status.HTTP_201_CREATED, tags=["enterprises"])
    async def register_enterprise(
        body: service.RegisterEnterprise, principal: CurrentCaller, p: Ports = uses_ports
    ) -> Enterprise:
        """Register an IKM (ministry, regional officer of its province, or a service)."""
        return await service.register_enterprise(body, principal, p)

    @router.get("/enterprises", tags=["enterprises"])
    async def list_enterprises(
        query: Annotated[service.EnterpriseQuery, Query()],
        principal: CurrentCaller,
        p: Ports = uses_ports,
    ) -> dict[str, Any]:
        """Filter by province, regency, KBLI, status and size class; pass ``next_cursor`` on."""
        items, next_cursor = await service.list_enterprises(query, principal, p)
        return {"items": items, "next_cursor": next_cursor}

    @router.get("/enterprises/{nib}", tags=["enterprises"])
    async def get_enterprise(
        nib: str, principal: CurrentCaller, p: Ports = uses_ports
    ) -> Enterprise:
        return await service.get_enterprise(nib, principal, p)

    @router.patch("/enterprises/{nib}", tags=["enterprises"])
    async def update_enterprise(
        nib: str, body: service.UpdateEnterprise, principal: CurrentCaller, p: Ports = uses_ports
    ) -> Enterprise:
        """Change fields; ``version`` must be the version read (else 409)."""
        return await service.update_enterprise(nib, body, principal, p)

    @router.post("/enterprises/{nib}/verify", tags=["enterprises"])
    async def verify_enterprise(
        nib: str, principal: CurrentCaller, p: Ports = uses_ports
    ) -> Enterprise:
        return await service.verify_enterprise(nib, principal, p)

    @router.post("/enterprises/{nib}/suspend", tags=["enterprises"])
    async def suspend_enterprise(
        nib: str, body: service.StatusChange, principal: CurrentCaller, p: Ports = uses_ports
    ) -> Enterprise:
        return await service.suspend_enterprise(nib, body, principal, p)

    @router.post("/enterprises/{nib}/reinstate", tags=["enterprises"])
    async def reinstate_enterprise(
        nib: str, body: service.StatusChange, principal: CurrentCaller, p: Ports = uses_ports
    ) -> Enterprise:
        return await service.reinstate_enterprise(nib, body, principal, p)

    # --- partners ------------------------------------------------------------------------

    @router.post("/partners", status_code=status.HTTP_201_CREATED, tags=["partners"])
    async def register_partner(
        body: service.RegisterPartner, principal: CurrentCaller, p: Ports = uses_ports
    ) -> Partner:
        return await service.register_partner(body, principal, p)

    @router.get("/partners/{partner_id}", tags=["partners"])
    async def get_partner(
        partner_id: str, principal: CurrentCaller, p: Ports = uses_ports
    ) -> Partner:
        return await service.get_partner(partner_id, principal, p)

    # --- MoUs ----------------------------------------------------------------------------

    @router.post("/mous", status_code=status.HTTP_201_CREATED, tags=["mous"])
    async def draft_mou(
        body: service.DraftMoU, principal: CurrentCaller, p: Ports = uses_ports
    ) -> MoU:
        """Create a draft MoU; the ministry takes part as a party or a witness."""
        return await service.draft_mou(body, principal, p)

    @router.get("/mous", tags=["mous"])
    async def list_mous(
        query: Annotated[service.MoUQuery, Query()],
        principal: CurrentCaller,
        p: Ports = uses_ports,
    ) -> dict[str, Any]:
        items, next_cursor = await service.list_mous(query, principal, p)
        return {"items": items, "next_cursor": next_cursor}

    @router.get("/mous/{mou_id}", tags=["mous"])
    async def get_mou(mou_id: str, principal: CurrentCaller, p: Ports = uses_ports) -> MoU:
        return await service.get_mou(mou_id, principal, p)

    @router.post("/mous/{mou_id}/sign", tags=["mous"])
    async def sign_mou(
        mou_id: str, body: service.SignMoU, principal: CurrentCaller, p: Ports = uses_ports
    ) -> MoU:
        return await service.sign_mou(mou_id, body, principal, p)

    @router.post("/mous/{mou_id}/terminate", tags=["mous"])
    async def terminate_mou(
        mou_id: str, body: service.TerminateMoU, principal: CurrentCaller, p: Ports = uses_ports
    ) -> MoU:
        return await service.terminate_mou(mou_id, body, principal, p)

    # --- statistics ----------------------------------------------------------------------

    @router.get("/stats", tags=["stats"])
    async def stats(principal: CurrentCaller, p: Ports = uses_ports) -> dict[str, Any]:
        """Enterprises by province, directorate, size class and status; MoUs by scope."""
        return await service.stats(principal, p)

    return router
