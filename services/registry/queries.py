"""The registry's reads: single records, pages (``Listing``) and statistics."""

from __future__ import annotations

from pydantic import BaseModel

from ikmkit.auth import Caller
from ikmkit.clock import jakarta_date
from ikmkit.service.listing import Listing
from services.registry.commands import EnterpriseQuery, MoUQuery, PartnerQuery
from services.registry.domain import access, rules
from services.registry.domain.model import Enterprise
from services.registry.domain.mou import MoU
from services.registry.domain.partner import Partner
from services.registry.store import RegistryUnit, campaign_tag


async def get_enterprise(uow: RegistryUnit, nib: str, caller: Caller) -> Enterprise:
    access.require_reader(caller)
    found = await uow.enterprises.get(nib)
    access.authorize_read_enterprise(caller, found)
    return access.as_seen_by(caller, found)


async def list_enterprises(
    uow: RegistryUnit, query: EnterpriseQuery, caller: Caller
) -> Listing[Enterprise]:
    province = access.visible_province(caller, query.province)
    filters = {
        "province": province,
        "regency": query.regency,
        "kbli": query.kbli and rules.check_kbli(query.kbli),
        "status": query.status,
        "size_class": query.size_class,
    }
    where = {name: value for name, value in filters.items() if value is not None}
    tag, more = _tag_filter(query)
    if tag is None:
        items, next_cursor = await uow.enterprises.page(
            where, limit=query.limit, cursor=query.cursor
        )
    else:
        items, next_cursor = await uow.enterprises.page_tagged(
            tag, {**where, **more}, limit=query.limit, cursor=query.cursor
        )
    return Listing(items=[access.as_seen_by(caller, e) for e in items], next_cursor=next_cursor)


def _tag_filter(query: EnterpriseQuery) -> tuple[str | None, dict[str, bool]]:
    """The tag row to list by (a campaign's if both are asked) and the platform on it."""
    platform = query.marketplace_platform and rules.check_platform(
        query.marketplace_platform, "marketplace_platform"
    )
    campaign = query.campaign and rules.check_campaigns([query.campaign], "campaign")[0]
    if campaign:
        return campaign_tag(campaign), ({f"platforms.{platform}": True} if platform else {})
    if platform:
        return f"platform:{platform}", {}
    return None, {}


async def get_partner(uow: RegistryUnit, partner_id: str, caller: Caller) -> Partner:
    access.authorize_read_partner(caller, partner_id)
    return await uow.partners.get(partner_id)


async def list_partners(uow: RegistryUnit, query: PartnerQuery, caller: Caller) -> Listing[Partner]:
    filters = {
        "partner_id": access.visible_partner(caller),
        "partner_type": query.partner_type,
        "country": query.country,
        "province": query.province,
    }
    where = {name: value for name, value in filters.items() if value is not None}
    items, next_cursor = await uow.partners.page(where, limit=query.limit, cursor=query.cursor)
    return Listing(items=items, next_cursor=next_cursor)


async def get_mou(uow: RegistryUnit, mou_id: str, caller: Caller) -> MoU:
    access.require_mou_role(caller, *access.MOU_READERS)
    mou = await uow.mous.get(mou_id)
    access.authorize_read_mou(caller, mou)
    return mou


async def list_mous(uow: RegistryUnit, query: MoUQuery, caller: Caller) -> Listing[MoU]:
    party = access.visible_party(caller, query.party)
    filters = {"scope": query.scope, "status": query.status, "province": query.province}
    where = {name: value for name, value in filters.items() if value is not None}
    if party is None:
        items, next_cursor = await uow.mous.page(where, limit=query.limit, cursor=query.cursor)
    else:
        items, next_cursor = await uow.mous.page_of_party(
            party, where, limit=query.limit, cursor=query.cursor
        )
    return Listing(items=items, next_cursor=next_cursor)


async def due_mous(uow: RegistryUnit, batch: int) -> list[str]:
    """Signed MoUs whose end date has passed in Jakarta, by id."""
    return [m.mou_id for m in await uow.mous.due_to_expire(jakarta_date(uow.now), batch)]


class RegistryStats(BaseModel):
    province_scope: str | None
    enterprises_by_province: dict[str, int]
    enterprises_by_directorate: dict[str, int]
    enterprises_by_size_class: dict[str, int]
    enterprises_by_status: dict[str, int]
    enterprises_total: int
    mous_by_scope: dict[str, dict[str, int]]
    """MoUs by scope, then by status."""


async def stats(uow: RegistryUnit, caller: Caller) -> RegistryStats:
    province = access.visible_province(caller, None)
    where = {} if province is None else {"province": province}
    counts: dict[str, dict[str, int]] = {}
    for field in ("province", "directorate", "size_class", "status"):
        rows = await uow.enterprises.counts_by(field, where)
        counts[field] = {str(r.key[field]): r.count for r in rows}
    by_scope: dict[str, dict[str, int]] = {}
    for row in await uow.mous.counts_by(["scope", "status"]):
        by_scope.setdefault(str(row.key["scope"]), {})[str(row.key["status"])] = row.count
    return RegistryStats(
        province_scope=province,
        enterprises_by_province=counts["province"],
        enterprises_by_directorate=counts["directorate"],
        enterprises_by_size_class=counts["size_class"],
        enterprises_by_status=counts["status"],
        enterprises_total=sum(counts["status"].values()),
        mous_by_scope=by_scope,
    )
