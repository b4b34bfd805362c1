"""Registry use cases: each takes a command, the caller and the ports it needs.

Every state change and the events it emits commit in one unit of work (transactional
outbox). Personal data (owner name, NIK, phone, e-mail) travels only in the events whose
consumers need it: ``EnterpriseRegistered`` and ``EnterpriseUpdated`` carry the owner's
contact details for notifications; the NIK is in no event at all.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Annotated, Any

from lokal import partial_mask
from pydantic import BaseModel, Field

from contracts.base import Event
from contracts.registry import (
    EnterpriseClassChanged,
    EnterpriseOnboardedToMarketplace,
    EnterpriseRegistered,
    EnterpriseReinstated,
    EnterpriseStatus,
    EnterpriseSuspended,
    EnterpriseUpdated,
    EnterpriseVerified,
    Language,
    MoUExpired,
    MoUParty,
    MoUScope,
    MoUSigned,
    MoUTerminated,
    OwnerContact,
    PartnerRegistered,
    PartnerType,
    SizeClass,
)
from contracts.values import EMAIL_MAX
from ikmkit.auth import Caller
from ikmkit.messaging.outbox import Outbox
from ikmkit.service.errors import Conflict, InvalidInput, NotFound
from ikmkit.service.limits import (
    MAX_ITEMS,
    Code,
    Codes,
    Count,
    Cursor,
    Name,
    Names,
    Rupiah,
    Text,
    Url,
    Version,
)
from ikmkit.store import RETRYABLE, DuplicateKey, Store, Transaction, TransactionConflict
from ikmkit.store.retry import retry_on_conflict
from services.registry import access, domain
from services.registry.domain import (
    Enterprise,
    EnterpriseFacts,
    MarketplaceStore,
    MoU,
    MoUStatus,
    Partner,
)
from services.registry.store import EnterpriseRepository, MoURepository, PartnerRepository

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(UTC)


ATTEMPTS = 5


async def retrying[T](
    use_case: Callable[[], Awaitable[T]], retry_on: tuple[type[Exception], ...]
) -> T:
    """Re-runs a whole unit of work that lost a race (MongoDB write conflicts)."""
    return await retry_on_conflict(use_case, retry_on=retry_on, max_attempts=ATTEMPTS)


@dataclass(frozen=True)
class Ports:
    store: Store
    outbox: Outbox
    clock: Clock = system_clock


# --- commands -----------------------------------------------------------------------------


EmailText = Annotated[str, Field(max_length=EMAIL_MAX)]
"""Checked by ``domain.check_email`` (``values.normalize_email``) with the other rules."""


class PartyInput(MoUParty):
    partner_id: Code


class StoreInput(BaseModel):
    platform: Code = Field(description="tokopedia, shopee, bukalapak, blibli, blanja, gojek, ...")
    shop_url: Url


class RegisterEnterprise(BaseModel):
    """Body of ``POST /enterprises`` (and one row of a CSV import)."""

    nib: Code = Field(description="NIB from OSS, 13 digits")
    name: Name
    legal_form: Code = Field(
        "perorangan", description="PT, CV, UD, firma, koperasi, perorangan, ..."
    )
    owner_name: Name
    owner_nik: Code | None = Field(None, description="16 digits; personal data")
    owner_phone: Code | None = None
    owner_email: EmailText | None = None
    preferred_language: Language = "id"
    street: Text = ""
    postal_code: Code | None = None
    province: Code = Field(description="Kemendagri province code, 2 digits (e.g. 34)")
    regency: Code = Field(description="Kemendagri regency/city code, 4 digits (e.g. 3471)")
    kbli: Code = Field(description="KBLI 2020, 5 digits, manufacturing 10xxx-33xxx")
    workforce: Count
    investment_rupiah: Rupiah = Field(description="Investment excluding land and buildings, rupiah")
    products: Names = []
    campaigns: Codes = Field([], description="e.g. #SemuanyaAdaDisini")
    marketplace_stores: Annotated[list[StoreInput], MAX_ITEMS] = []


class UpdateEnterprise(BaseModel):
    """Body of ``PATCH /enterprises/{nib}``: the fields to change and the version read."""

    version: Version = Field(description="The version the change is based on (optimistic locking)")
    name: Name | None = None
    legal_form: Code | None = None
    owner_name: Name | None = None
    owner_nik: Code | None = None
    owner_phone: Code | None = None
    owner_email: EmailText | None = None
    preferred_language: Language | None = None
    street: Text | None = None
    postal_code: Code | None = None
    province: Code | None = None
    regency: Code | None = None
    kbli: Code | None = None
    workforce: Count | None = None
    investment_rupiah: Rupiah | None = None
    products: Names | None = None
    campaigns: Codes | None = None
    marketplace_stores: Annotated[list[StoreInput], MAX_ITEMS] | None = None


class StatusChange(BaseModel):
    reason: Text


class EnterpriseQuery(BaseModel):
    province: Code | None = None
    regency: Code | None = None
    kbli: Code | None = None
    status: EnterpriseStatus | None = None
    size_class: SizeClass | None = None
    cursor: Cursor | None = None
    limit: int = Field(50, ge=1, le=500)


class RegisterPartner(BaseModel):
    partner_id: Code | None = Field(None, description="Slug such as pii-bkti; generated if absent")
    name: Name
    partner_type: PartnerType
    country: Code = Field("ID", description="ISO 3166-1 alpha-2")
    province: Code | None = None
    regency: Code | None = None
    contact_email: EmailText | None = None
    preferred_language: Language = "id"
    memberships: Codes = Field([], description="e.g. colombo_plan")


class DraftMoU(BaseModel):
    title: Name
    scope: MoUScope
    parties: Annotated[list[PartyInput], MAX_ITEMS] = Field(
        description="Partner ids; the ministry is 'ministry'"
    )
    valid_from: date
    valid_until: date
    document_ref: Text | None = None


class SignMoU(BaseModel):
    signed_on: date | None = Field(None, description="Defaults to today")
    document_ref: Text | None = Field(None, description="Required unless the draft has one")


class TerminateMoU(BaseModel):
    reason: Text


class MoUQuery(BaseModel):
    party: Code | None = None
    scope: MoUScope | None = None
    status: MoUStatus | None = None
    cursor: Cursor | None = None
    limit: int = Field(50, ge=1, le=500)


# --- validation ---------------------------------------------------------------------------


@dataclass
class Violations:
    """Runs rule checks, keeping every violation (a CSV row reports them all)."""

    found: list[InvalidInput] = field(default_factory=list)

    def check[T](self, rule: Callable[..., T], *args: Any, **kwargs: Any) -> T | None:
        try:
            return rule(*args, **kwargs)
        except InvalidInput as exc:
            self.found.append(exc)
            return None

    def raise_first(self) -> None:
        if self.found:
            raise self.found[0]


def enterprise_facts(data: dict[str, Any], violations: Violations) -> EnterpriseFacts | None:
    """Validates the facts about an enterprise; ``None`` if any rule is broken."""
    v = violations
    province = v.check(domain.check_province, data["province"])
    checked: dict[str, Any] = {
        "name": v.check(domain.check_text, data["name"], "name"),
        "legal_form": v.check(domain.check_legal_form, data["legal_form"]),
        "owner_name": v.check(domain.check_text, data["owner_name"], "owner_name"),
        "owner_nik": data["owner_nik"] and v.check(domain.check_nik, data["owner_nik"]),
        "owner_phone": data["owner_phone"] and v.check(domain.check_phone, data["owner_phone"]),
        "owner_email": data["owner_email"] and v.check(domain.check_email, data["owner_email"]),
        "preferred_language": data["preferred_language"],
        "street": v.check(domain.check_street, data["street"]),
        "postal_code": data["postal_code"]
        and v.check(domain.check_postal_code, data["postal_code"]),
        "province": province,
        "regency": province and v.check(domain.check_regency, data["regency"], province),
        "kbli": v.check(domain.check_kbli, data["kbli"]),
        "workforce": v.check(domain.check_non_negative, data["workforce"], "workforce"),
        "investment_rupiah": v.check(
            domain.check_non_negative, data["investment_rupiah"], "investment_rupiah"
        ),
        "products": v.check(domain.check_products, data["products"]),
        "campaigns": v.check(domain.check_campaigns, data["campaigns"]),
        "marketplace_stores": v.check(_stores, data["marketplace_stores"]),
    }
    if v.found:
        return None
    return EnterpriseFacts.model_validate(checked)


def _stores(stores: list[dict[str, Any]]) -> list[MarketplaceStore]:
    domain.check_count(stores, "marketplace_stores")
    return [domain.check_store(MarketplaceStore.model_validate(s)) for s in stores]


def validate_registration(cmd: RegisterEnterprise) -> tuple[EnterpriseFacts | None, Violations]:
    violations = Violations()
    violations.check(domain.check_nib, cmd.nib)
    data = cmd.model_dump()
    return enterprise_facts(data, violations), violations


# --- enterprises --------------------------------------------------------------------------


def registration_events(e: Enterprise) -> list[Event]:
    events: list[Event] = [
        EnterpriseRegistered(
            nib=e.nib,
            name=e.name,
            legal_form=e.legal_form,
            province=e.province,
            regency=e.regency,
            kbli=e.kbli,
            directorate=e.directorate,
            size_class=e.size_class,
            workforce=e.workforce,
            investment_rupiah=e.investment_rupiah,
            owner=_owner_contact(e),
            campaigns=e.campaigns,
            registered_at=e.registered_at,
        )
    ]
    events += [_onboarded(e, s) for s in e.marketplace_stores]
    return events


def _owner_contact(e: Enterprise) -> OwnerContact:
    return OwnerContact(
        name=e.owner_name,
        email=e.owner_email,
        phone=e.owner_phone,
        preferred_language=e.preferred_language,
    )


def _onboarded(e: Enterprise, store: MarketplaceStore) -> EnterpriseOnboardedToMarketplace:
    return EnterpriseOnboardedToMarketplace(
        nib=e.nib,
        province=e.province,
        platform=store.platform,
        shop_url=store.shop_url,
        onboarded_at=store.onboarded_at or e.updated_at,
    )


async def register_enterprise(cmd: RegisterEnterprise, actor: Caller, ports: Ports) -> Enterprise:
    access.ensure_registers_in(actor, cmd.province)
    facts, violations = validate_registration(cmd)
    violations.raise_first()
    assert facts is not None
    enterprise = Enterprise.register(cmd.nib, facts, ports.clock())

    async def add() -> Enterprise:
        async with ports.store.transaction() as uow:
            saved = await EnterpriseRepository(uow).add(enterprise)
            await ports.outbox.add_many(uow, registration_events(saved))
        return saved

    try:
        saved = await retrying(add, (TransactionConflict,))
    except DuplicateKey as exc:
        raise await _already_registered(cmd.nib, actor, ports.store) from exc
    return saved


async def _already_registered(nib: str, actor: Caller, store: Store) -> Conflict:
    async with store.transaction() as uow:
        existing = await EnterpriseRepository(uow).get(nib)
    if existing is not None and access.may_see_enterprise(actor, nib, existing.province):
        return Conflict(
            f"NIB {nib} is already registered: {existing.name} (province {existing.province},"
            f" status {existing.status}, GET /enterprises/{nib})",
            field="nib",
            rule="duplicate",
        )
    return Conflict(f"NIB {nib} is already registered", field="nib", rule="duplicate")


async def _load_enterprise(uow: Transaction, nib: str) -> Enterprise:
    found = await EnterpriseRepository(uow).get(nib)
    if found is None:
        raise NotFound(f"no enterprise with NIB {nib}")
    return found


def present(enterprise: Enterprise, actor: Caller) -> Enterprise:
    """What the caller may read: other systems see the owner's NIK masked."""
    if actor.role in ("ministry", "regional", "enterprise") or enterprise.owner_nik is None:
        return enterprise
    return enterprise.model_copy(update={"owner_nik": partial_mask("NIK", enterprise.owner_nik)})


async def get_enterprise(nib: str, actor: Caller, ports: Ports) -> Enterprise:
    async with ports.store.transaction() as uow:
        found = await EnterpriseRepository(uow).get(nib)
    if found is None:
        raise NotFound(f"no enterprise with NIB {nib}")
    access.ensure_sees_enterprise(actor, nib, found.province)
    return present(found, actor)


async def list_enterprises(
    query: EnterpriseQuery, actor: Caller, ports: Ports
) -> tuple[list[Enterprise], str | None]:
    province = access.province_scope(actor, query.province)
    where: dict[str, Any] = {}
    if province is not None:
        where["province"] = domain.check_province(province)
    if query.regency is not None:
        where["regency"] = query.regency
    if query.kbli is not None:
        where["kbli"] = domain.check_kbli(query.kbli)
    if query.status is not None:
        where["status"] = query.status
    if query.size_class is not None:
        where["size_class"] = query.size_class
    async with ports.store.transaction() as uow:
        page = await EnterpriseRepository(uow).find(where, limit=query.limit, cursor=query.cursor)
    return [present(Enterprise.model_validate(d), actor) for d in page.items], page.next_cursor


async def update_enterprise(
    nib: str, cmd: UpdateEnterprise, actor: Caller, ports: Ports
) -> Enterprise:
    return await retrying(
        lambda: _update_enterprise(nib, cmd, actor, ports), (TransactionConflict,)
    )


async def _update_enterprise(
    nib: str, cmd: UpdateEnterprise, actor: Caller, ports: Ports
) -> Enterprise:
    now = ports.clock()
    async with ports.store.transaction() as uow:
        current = await _load_enterprise(uow, nib)
        access.ensure_edits_enterprise(actor, nib, current.province)
        if cmd.version != current.version:
            raise Conflict(
                f"enterprise {nib} is at version {current.version}, not {cmd.version};"
                " read it again and reapply the change",
                field="version",
                rule="version_conflict",
            )
        changes = cmd.model_dump(exclude_unset=True, exclude={"version"})
        violations = Violations()
        facts = enterprise_facts({**current.facts().model_dump(), **changes}, violations)
        violations.raise_first()
        assert facts is not None
        change = current.update(facts, now)
        if not change.changed_fields:
            return current
        saved = await EnterpriseRepository(uow).save(change.after)
        await ports.outbox.add_many(uow, _update_events(change, saved, now))
    return saved


def _update_events(change: domain.EnterpriseChange, e: Enterprise, now: datetime) -> list[Event]:
    events: list[Event] = [
        EnterpriseUpdated(
            nib=e.nib,
            province=e.province,
            name=e.name,
            regency=e.regency,
            kbli=e.kbli,
            directorate=e.directorate,
            size_class=e.size_class,
            workforce=e.workforce,
            investment_rupiah=e.investment_rupiah,
            changed_fields=change.changed_fields,
            owner=_owner_contact(e) if change.owner_changed else None,
            legal_form=e.legal_form,
            campaigns=e.campaigns,
            updated_at=now,
        )
    ]
    if change.class_changed:
        events.append(
            EnterpriseClassChanged(
                nib=e.nib,
                province=e.province,
                previous_class=change.before.size_class,
                new_class=e.size_class,
                changed_at=now,
            )
        )
    events += [_onboarded(e, s) for s in change.new_stores]
    return events


async def verify_enterprise(nib: str, actor: Caller, ports: Ports) -> Enterprise:
    return await retrying(lambda: _verify_enterprise(nib, actor, ports), RETRYABLE)


async def _verify_enterprise(nib: str, actor: Caller, ports: Ports) -> Enterprise:
    now = ports.clock()
    async with ports.store.transaction() as uow:
        current = await _load_enterprise(uow, nib)
        access.ensure_officer_of(actor, nib, current.province)
        saved = await EnterpriseRepository(uow).save(current.verify(actor.subject, now))
        await ports.outbox.add(
            uow,
            EnterpriseVerified(
                nib=nib,
                province=saved.province,
                status=saved.status,
                verified_by=actor.subject,
                verified_at=now,
            ),
        )
    return saved


async def suspend_enterprise(
    nib: str, cmd: StatusChange, actor: Caller, ports: Ports
) -> Enterprise:
    def suspend(current: Enterprise, now: datetime) -> tuple[Enterprise, Callable[..., Event]]:
        saved = current.suspend(cmd.reason, now)
        return saved, lambda: EnterpriseSuspended(
            nib=nib,
            province=saved.province,
            reason=saved.status_reason or cmd.reason,
            suspended_by=actor.subject,
            suspended_at=now,
        )

    return await retrying(lambda: _change_status(nib, actor, ports, suspend), RETRYABLE)


async def reinstate_enterprise(
    nib: str, cmd: StatusChange, actor: Caller, ports: Ports
) -> Enterprise:
    def reinstate(current: Enterprise, now: datetime) -> tuple[Enterprise, Callable[..., Event]]:
        saved = current.reinstate(cmd.reason, now)
        return saved, lambda: EnterpriseReinstated(
            nib=nib,
            province=saved.province,
            reason=saved.status_reason or cmd.reason,
            status=saved.status,
            reinstated_by=actor.subject,
            reinstated_at=now,
        )

    return await retrying(lambda: _change_status(nib, actor, ports, reinstate), RETRYABLE)


StatusTransition = Callable[[Enterprise, datetime], tuple[Enterprise, Callable[..., Event]]]


async def _change_status(
    nib: str, actor: Caller, ports: Ports, transition: StatusTransition
) -> Enterprise:
    """Load, check the officer's province, apply the domain transition, save and emit."""
    now = ports.clock()
    async with ports.store.transaction() as uow:
        current = await _load_enterprise(uow, nib)
        access.ensure_officer_of(actor, nib, current.province)
        changed, event = transition(current, now)
        saved = await EnterpriseRepository(uow).save(changed)
        await ports.outbox.add(uow, event())
    return saved


# --- partners -----------------------------------------------------------------------------


async def register_partner(cmd: RegisterPartner, actor: Caller, ports: Ports) -> Partner:
    actor.require("ministry", "service")
    partner_id = domain.check_partner_id(cmd.partner_id or f"p-{uuid.uuid4().hex[:12]}")
    country = domain.check_country(cmd.country)
    province, regency = domain.check_partner_region(country, cmd.province, cmd.regency)
    partner = Partner(
        partner_id=partner_id,
        name=domain.check_text(cmd.name, "name"),
        partner_type=cmd.partner_type,
        country=country,
        province=province,
        regency=regency,
        contact_email=cmd.contact_email and domain.check_email(cmd.contact_email, "contact_email"),
        preferred_language=cmd.preferred_language,
        memberships=cmd.memberships,
        registered_at=ports.clock(),
    )
    try:
        async with ports.store.transaction() as uow:
            saved = await PartnerRepository(uow).add(partner)
            await ports.outbox.add(
                uow,
                PartnerRegistered(
                    partner_id=saved.partner_id,
                    name=saved.name,
                    partner_type=saved.partner_type,
                    country=saved.country,
                    province=saved.province,
                    contact_email=saved.contact_email,
                    preferred_language=saved.preferred_language,
                    registered_at=saved.registered_at,
                ),
            )
    except DuplicateKey as exc:
        async with ports.store.transaction() as uow:
            existing = await PartnerRepository(uow).get(partner_id)
        name = f": {existing.name}" if existing else ""
        raise Conflict(
            f"partner {partner_id} already exists{name}", field="partner_id", rule="duplicate"
        ) from exc
    return saved


async def get_partner(partner_id: str, actor: Caller, ports: Ports) -> Partner:
    actor.require("ministry", "service", "regional", "partner")
    async with ports.store.transaction() as uow:
        found = await PartnerRepository(uow).get(partner_id)
    if found is None or not access.may_see_partner(actor, partner_id):
        raise NotFound(f"no partner {partner_id}")
    return found


# --- MoUs ---------------------------------------------------------------------------------


async def draft_mou(cmd: DraftMoU, actor: Caller, ports: Ports) -> MoU:
    domain.check_mou_terms(cmd.parties, cmd.valid_from, cmd.valid_until, cmd.title)
    party_ids = [p.partner_id for p in cmd.parties]
    access.ensure_drafts_mou(actor, party_ids)
    mou = MoU(
        mou_id=f"mou-{uuid.uuid4().hex[:16]}",
        title=cmd.title.strip(),
        scope=cmd.scope,
        parties=cmd.parties,
        valid_from=cmd.valid_from,
        valid_until=cmd.valid_until,
        document_ref=cmd.document_ref,
        created_by=actor.subject,
        created_at=ports.clock(),
    )
    async with ports.store.transaction() as uow:
        wanted = list(domain.non_ministry_parties(cmd.parties))
        unknown = sorted(set(wanted) - await PartnerRepository(uow).existing(wanted))
        if unknown:
            raise InvalidInput(
                f"not registered partners: {', '.join(unknown)}",
                field="parties",
                rule="unknown_partner",
            )
        return await MoURepository(uow).add(mou)


async def _load_mou(uow: Transaction, mou_id: str) -> MoU:
    found = await MoURepository(uow).get(mou_id)
    if found is None:
        raise NotFound(f"no MoU {mou_id}")
    return found


async def get_mou(mou_id: str, actor: Caller, ports: Ports) -> MoU:
    async with ports.store.transaction() as uow:
        mou = await _load_mou(uow, mou_id)
    access.ensure_sees_mou(actor, mou_id, mou.party_ids())
    return mou


async def sign_mou(mou_id: str, cmd: SignMoU, actor: Caller, ports: Ports) -> MoU:
    return await retrying(lambda: _sign_mou(mou_id, cmd, actor, ports), RETRYABLE)


async def _sign_mou(mou_id: str, cmd: SignMoU, actor: Caller, ports: Ports) -> MoU:
    actor.require("ministry")
    now = ports.clock()
    async with ports.store.transaction() as uow:
        current = await _load_mou(uow, mou_id)
        document_ref = cmd.document_ref or current.document_ref
        if not document_ref:
            raise InvalidInput(
                "a signed MoU needs its document reference", field="document_ref", rule="required"
            )
        signed = current.sign(cmd.signed_on or now.date(), document_ref, now.date(), now)
        saved = await MoURepository(uow).save(signed)
        assert saved.signed_on is not None and saved.document_ref is not None
        await ports.outbox.add(
            uow,
            MoUSigned(
                mou_id=saved.mou_id,
                title=saved.title,
                scope=saved.scope,
                parties=saved.parties,
                valid_from=saved.valid_from,
                valid_until=saved.valid_until,
                signed_on=saved.signed_on,
                document_ref=saved.document_ref,
                signed_at=now,
            ),
        )
    return saved


async def terminate_mou(mou_id: str, cmd: TerminateMoU, actor: Caller, ports: Ports) -> MoU:
    return await retrying(lambda: _terminate_mou(mou_id, cmd, actor, ports), RETRYABLE)


async def _terminate_mou(mou_id: str, cmd: TerminateMoU, actor: Caller, ports: Ports) -> MoU:
    now = ports.clock()
    async with ports.store.transaction() as uow:
        current = await _load_mou(uow, mou_id)
        access.ensure_terminates_mou(actor, mou_id, current.party_ids())
        saved = await MoURepository(uow).save(current.terminate(cmd.reason, actor.subject, now))
        await ports.outbox.add(
            uow,
            MoUTerminated(
                mou_id=saved.mou_id,
                scope=saved.scope,
                parties=saved.parties,
                reason=saved.termination_reason or cmd.reason,
                terminated_by=actor.subject,
                terminated_at=now,
            ),
        )
    return saved


async def list_mous(query: MoUQuery, actor: Caller, ports: Ports) -> tuple[list[MoU], str | None]:
    party = access.party_scope(actor, query.party)
    where: dict[str, Any] = {}
    if query.scope is not None:
        where["scope"] = query.scope
    if query.status is not None:
        where["status"] = query.status
    async with ports.store.transaction() as uow:
        repo = MoURepository(uow)
        if party is None:
            return await repo.find(where, limit=query.limit, cursor=query.cursor)
        return await repo.find_by_party(party, where, limit=query.limit, cursor=query.cursor)


async def expire_due_mous(ports: Ports, *, batch: int = 200) -> list[str]:
    """Expires every signed MoU whose end date has passed; emits ``MoUExpired`` for each.

    Each MoU expires in its own unit of work; one terminated concurrently is skipped.
    """
    now = ports.clock()
    async with ports.store.transaction() as uow:
        due = await MoURepository(uow).due_to_expire(now.date().isoformat(), batch)
    expired: list[str] = []
    for mou in due:
        try:
            async with ports.store.transaction() as uow:
                current = await _load_mou(uow, mou.mou_id)
                if not current.is_due_to_expire(now.date()):
                    continue
                saved = await MoURepository(uow).save(current.expire(now))
                await ports.outbox.add(
                    uow,
                    MoUExpired(
                        mou_id=saved.mou_id,
                        scope=saved.scope,
                        parties=saved.parties,
                        valid_until=saved.valid_until,
                        expired_at=now,
                    ),
                )
            expired.append(mou.mou_id)
        except RETRYABLE:
            continue  # changed meanwhile; the next pass looks again
    return expired


# --- statistics ---------------------------------------------------------------------------


async def stats(actor: Caller, ports: Ports) -> dict[str, Any]:
    province = access.province_scope(actor, None)
    where: dict[str, Any] = {} if province is None else {"province": province}
    result: dict[str, Any] = {"province_scope": province}
    async with ports.store.transaction() as uow:
        enterprises = EnterpriseRepository(uow)
        for field_name, key in (
            ("province", "enterprises_by_province"),
            ("directorate", "enterprises_by_directorate"),
            ("size_class", "enterprises_by_size_class"),
            ("status", "enterprises_by_status"),
        ):
            rows = await enterprises.counts_by(field_name, where)
            result[key] = {str(r.key[field_name]): r.count for r in rows}
        result["enterprises_total"] = sum(result["enterprises_by_status"].values())
        rows = await MoURepository(uow).counts_by(["scope", "status"])
    by_scope: dict[str, dict[str, int]] = {}
    for row in rows:
        by_scope.setdefault(str(row.key["scope"]), {})[str(row.key["status"])] = row.count
    result["mous_by_scope"] = by_scope
    return result
