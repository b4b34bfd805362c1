"""The registry's enterprise (IKM) aggregate (the partner is `domain/partner.py`, the MoU
`domain/mou.py`).

Every state change is a method that returns ``Changed(new_state, events)``: the events a
transition causes are built here, next to the rule that allows it. Personal data (owner name,
NIK, phone, e-mail) travels only in the events whose consumers need it:
``EnterpriseRegistered`` and ``EnterpriseUpdated`` carry the owner's contact details for
notifications; the NIK is in no event at all.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict

from contracts.base import Event
from contracts.registry import (
    Directorate,
    EnterpriseClassChanged,
    EnterpriseOnboardedToMarketplace,
    EnterpriseRegistered,
    EnterpriseReinstated,
    EnterpriseStatus,
    EnterpriseSuspended,
    EnterpriseUpdated,
    EnterpriseVerified,
    OwnerContact,
    SizeClass,
)
from contracts.values import (
    EmailText,
    KbliText,
    Language,
    NibText,
    ProvinceText,
    RegencyText,
    documented,
)
from ikmkit.service.errors import Conflict, InvalidInput, Violations
from ikmkit.service.limits import COUNT_MAX, RUPIAH_MAX
from ikmkit.store.repository import Versioned
from ikmkit.unit_of_work import Changed
from services.registry.domain import rules
from services.registry.domain.rules import directorate_for, size_class_for

MaskedNik = Annotated[
    str,
    documented(
        "The owner's NIK (16 digits); systems (role service, partner) see it masked, the"
        " middle 8 digits as * (3201********0001)",
        pattern=r"^\d{4}[\d*]{8}\d{4}$",
        minLength=16,
        maxLength=16,
    ),
]

# --- enterprises --------------------------------------------------------------------------


class MarketplaceStore(BaseModel):
    """e-Smart IKM: a shop of the enterprise on an e-commerce platform."""

    model_config = ConfigDict(frozen=True)

    platform: str
    shop_url: str
    onboarded_at: datetime | None = None

    def key(self) -> tuple[str, str]:
        return (self.platform, self.shop_url.rstrip("/"))


def _stores(stores: list[dict[str, Any]]) -> list[MarketplaceStore]:
    rules.check_count(stores, "marketplace_stores")
    return [rules.check_store(MarketplaceStore.model_validate(s)) for s in stores]


class EnterpriseFacts(BaseModel):
    """What a registration or an update says about an enterprise (already validated)."""

    model_config = ConfigDict(frozen=True)

    name: str
    legal_form: str
    owner_name: str
    owner_nik: MaskedNik | None = None
    owner_phone: str | None = None
    owner_email: EmailText | None = None
    preferred_language: Language = "id"
    street: str = ""
    postal_code: str | None = None
    province: ProvinceText
    regency: RegencyText
    kbli: KbliText
    workforce: Annotated[int, documented(minimum=0, maximum=COUNT_MAX)]
    investment_rupiah: Annotated[int, documented(minimum=0, maximum=RUPIAH_MAX)]
    products: list[str] = []
    campaigns: list[str] = []
    marketplace_stores: list[MarketplaceStore] = []

    @classmethod
    def checked(
        cls, data: dict[str, Any], violations: Violations, *, typed: bool = False
    ) -> EnterpriseFacts | None:
        """The facts in ``data`` after every rule; ``None`` (and ``violations``) if any broke.
        ``typed``: see ``check_fields``."""
        fields = cls.check_fields(data, violations, typed=typed)
        return None if violations.found else cls.model_validate(fields)

    @staticmethod
    def check_fields(
        data: dict[str, Any], violations: Violations, *, typed: bool = False
    ) -> dict[str, Any]:
        """Every rule on every field ``data`` has (absent or ``None``: nothing to check).
        ``typed``: ``data`` comes from a request model whose shared value types (``Email``,
        ``ProvinceCode``, ``Kbli``, ``Language``) already applied the platform's rule to each
        value; it is applied once, so here only the registry's own rules run on those."""

        def rule(key: str, check: Any, *args: Any) -> Any:
            value = data.get(key)
            return value if value is None else violations.check(check, value, *args)

        def optional(key: str, check: Any) -> Any:
            return data.get(key) and rule(key, check)  # an empty one is no value

        def shared(key: str, check: Any) -> Any:
            return data.get(key) if typed else rule(key, check)

        province = shared("province", rules.check_province)
        return {
            "name": rule("name", rules.check_text, "name"),
            "legal_form": rule("legal_form", rules.check_legal_form),
            "owner_name": rule("owner_name", rules.check_text, "owner_name"),
            "owner_nik": optional("owner_nik", rules.check_nik),
            "owner_phone": optional("owner_phone", rules.check_phone),
            "owner_email": data.get("owner_email") and shared("owner_email", rules.check_email),
            "preferred_language": shared("preferred_language", rules.check_language),
            "street": rule("street", rules.check_street),
            "postal_code": optional("postal_code", rules.check_postal_code),
            "province": province,
            "regency": province and rule("regency", rules.check_regency, province),
            "kbli": rule("kbli", rules.check_manufacturing if typed else rules.check_kbli),
            "workforce": rule("workforce", rules.check_non_negative, "workforce"),
            "investment_rupiah": rule(
                "investment_rupiah", rules.check_non_negative, "investment_rupiah"
            ),
            "products": rule("products", rules.check_products),
            "campaigns": rule("campaigns", rules.check_campaigns),
            "marketplace_stores": rule("marketplace_stores", _stores),
        }


OWNER_FIELDS = ("owner_name", "owner_nik", "owner_phone", "owner_email", "preferred_language")


class Enterprise(EnterpriseFacts, Versioned):
    nib: NibText
    directorate: Directorate
    size_class: SizeClass
    status: EnterpriseStatus = "registered"
    status_reason: str | None = None
    status_before_suspension: EnterpriseStatus | None = None
    verified_by: str | None = None
    verified_at: datetime | None = None
    registered_at: datetime
    updated_at: datetime

    @classmethod
    def register(cls, nib: str, facts: EnterpriseFacts, at: datetime) -> Changed[Enterprise]:
        size_class = size_class_for(facts.workforce, facts.investment_rupiah)
        if size_class == "large":
            raise InvalidInput(
                "workforce and investment make this a large industry, not an IKM",
                field="investment_rupiah",
                rule="not_ikm",
            )
        stores = [s.model_copy(update={"onboarded_at": at}) for s in facts.marketplace_stores]
        e = cls(
            **facts.model_dump(exclude={"marketplace_stores"}),
            marketplace_stores=stores,
            nib=nib,
            directorate=directorate_for(facts.kbli),
            size_class=size_class,
            registered_at=at,
            updated_at=at,
        )
        registered = EnterpriseRegistered(
            nib=e.nib, name=e.name, legal_form=e.legal_form, province=e.province,
            regency=e.regency, kbli=e.kbli, directorate=e.directorate, size_class=e.size_class,
            workforce=e.workforce, investment_rupiah=e.investment_rupiah, owner=e._owner(),
            campaigns=e.campaigns, registered_at=e.registered_at,
        )  # fmt: skip
        return Changed(e, (registered, *(e._onboarded(s) for s in stores)))

    def _owner(self) -> OwnerContact:
        return OwnerContact(
            name=self.owner_name,
            email=self.owner_email,
            phone=self.owner_phone,
            preferred_language=self.preferred_language,
        )

    def _onboarded(self, store: MarketplaceStore) -> EnterpriseOnboardedToMarketplace:
        return EnterpriseOnboardedToMarketplace(
            nib=self.nib,
            province=self.province,
            platform=store.platform,
            shop_url=store.shop_url,
            onboarded_at=store.onboarded_at or self.updated_at,
        )

    def facts(self) -> EnterpriseFacts:
        return EnterpriseFacts.model_validate(
            self.model_dump(include=set(EnterpriseFacts.model_fields))
        )

    def update(self, facts: EnterpriseFacts, at: datetime) -> Changed[Enterprise]:
        """The new facts; nothing (no event) if they are the ones already known."""
        if facts.province != self.province:
            raise InvalidInput(
                "an enterprise cannot move to another province; register it there",
                field="province",
                rule="province_immutable",
            )
        before = self.facts()
        changed = [
            f for f in EnterpriseFacts.model_fields if getattr(facts, f) != getattr(before, f)
        ]
        if not changed:
            return Changed(self)
        known = {s.key(): s for s in self.marketplace_stores}
        stores = [
            known.get(s.key()) or s.model_copy(update={"onboarded_at": at})
            for s in facts.marketplace_stores
        ]
        after = Enterprise.model_validate(
            {
                **self.model_dump(),
                **facts.model_dump(exclude={"marketplace_stores"}),
                "marketplace_stores": [s.model_dump() for s in stores],
                "directorate": directorate_for(facts.kbli),
                "size_class": size_class_for(facts.workforce, facts.investment_rupiah),
                "updated_at": at,
            }
        )
        new_stores = [s for s in after.marketplace_stores if s.key() not in known]
        return Changed(after, after._update_events(self, changed, new_stores, at))

    def _update_events(
        self,
        before: Enterprise,
        changed: list[str],
        new_stores: list[MarketplaceStore],
        at: datetime,
    ) -> tuple[Event, ...]:
        owner_changed = any(f in OWNER_FIELDS for f in changed)
        events: list[Event] = [
            EnterpriseUpdated(
                nib=self.nib, province=self.province, name=self.name, regency=self.regency,
                kbli=self.kbli, directorate=self.directorate, size_class=self.size_class,
                workforce=self.workforce, investment_rupiah=self.investment_rupiah,
                changed_fields=changed, owner=self._owner() if owner_changed else None,
                legal_form=self.legal_form, campaigns=self.campaigns, updated_at=at,
            )
        ]  # fmt: skip
        if before.size_class != self.size_class:
            events.append(
                EnterpriseClassChanged(
                    nib=self.nib,
                    province=self.province,
                    previous_class=before.size_class,
                    new_class=self.size_class,
                    changed_at=at,
                )
            )
        return (*events, *(self._onboarded(s) for s in new_stores))

    def verify(self, by: str, at: datetime) -> Changed[Enterprise]:
        if self.status != "registered":
            raise Conflict(
                f"only a registered enterprise can be verified; this one is {self.status}",
                field="status",
                rule="not_registered",
            )
        e = self.model_copy(
            update={"status": "active", "verified_by": by, "verified_at": at, "updated_at": at}
        )
        return Changed(
            e,
            (
                EnterpriseVerified(
                    nib=e.nib, province=e.province, status=e.status, verified_by=by, verified_at=at
                ),
            ),
        )

    def suspend(self, reason: str, by: str, at: datetime) -> Changed[Enterprise]:
        if self.status == "suspended":
            raise Conflict("the enterprise is already suspended", field="status", rule="suspended")
        reason = rules.check_text(reason, "reason", max_length=500)
        e = self.model_copy(
            update={
                "status": "suspended",
                "status_reason": reason,
                "status_before_suspension": self.status,
                "updated_at": at,
            }
        )
        suspended = EnterpriseSuspended(
            nib=e.nib, province=e.province, reason=reason, suspended_by=by, suspended_at=at
        )
        return Changed(e, (suspended,))

    def reinstate(self, reason: str, by: str, at: datetime) -> Changed[Enterprise]:
        if self.status != "suspended":
            raise Conflict(
                f"only a suspended enterprise can be reinstated; this one is {self.status}",
                field="status",
                rule="not_suspended",
            )
        reason = rules.check_text(reason, "reason", max_length=500)
        e = self.model_copy(
            update={
                "status": self.status_before_suspension or "registered",
                "status_reason": reason,
                "status_before_suspension": None,
                "updated_at": at,
            }
        )
        reinstated = EnterpriseReinstated(
            nib=e.nib, province=e.province, reason=reason, status=e.status,
            reinstated_by=by, reinstated_at=at,
        )  # fmt: skip
        return Changed(e, (reinstated,))
