"""The registry's enterprise (IKM) aggregate (the partner is `domain/partner.py`, the MoU
`domain/mou.py`).

Every state change is a method that returns ``Changed(new_state, events)``: the events a
transition causes are built here, next to the rule that allows it. Personal data (owner name,
NIK, phone, e-mail) travels only in the events whose consumers need it:
``EnterpriseRegistered`` and ``EnterpriseUpdated`` carry the owner's contact details for
notifications; the NIK is in no event at all.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, get_args

from pydantic import AfterValidator
from pydantic_core import PydanticCustomError

from contracts.base import Event, as_validated
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
from contracts.values import Kbli, Nib, NibText, ProvinceCode, RegencyCode
from ikmkit.service.errors import Conflict, InvalidInput
from ikmkit.store.repository import Versioned
from ikmkit.unit_of_work import Changed
from services.registry.domain import rules
from services.registry.domain.facts import EnterpriseFacts, MarketplaceStore
from services.registry.domain.rules import directorate_for, size_class_for

# --- enterprises --------------------------------------------------------------------------

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
        if _built_as_validated(nib, facts, at):
            return _registered(nib, facts, at, size_class)
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
        # A shop it has keeps its onboarding: the stores sent again unchanged are no change.
        known = {s.key(): s for s in self.marketplace_stores}
        stores = [
            known.get(s.key()) or s.model_copy(update={"onboarded_at": at})
            for s in facts.marketplace_stores
        ]
        facts = facts.model_copy(update={"marketplace_stores": stores})
        before = self.facts()
        changed = [
            f for f in EnterpriseFacts.model_fields if getattr(facts, f) != getattr(before, f)
        ]
        if not changed:
            return Changed(self)
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


# --- a registration built from validated facts without validating them again ---------------
#
# ``Enterprise.register`` validating the aggregate and its events again costs more than the
# rules (pydantic's ``model_construct`` costs more still: it walks every field in Python). When
# the facts are an ``EnterpriseFacts`` pydantic validated, every value already has the type the
# aggregate and the events declare; the four codes the events constrain beyond their type are
# checked here by those very types. Then validating again would return each value as it is, so
# the objects are built as validation would leave them (``contracts.base.as_validated``;
# ``tests/unit/test_registry_built.py`` compares both ways for generated and edge-case rows:
# fields, fields set, dumps, payloads).

_REGISTERED_SET = frozenset(
    (*EnterpriseFacts.model_fields, "nib", "directorate", "size_class", "registered_at",
     "updated_at")
)  # fmt: skip
_ENTERPRISE_TEMPLATE = {name: field.default for name, field in Enterprise.model_fields.items()}
"""The defaults of the fields a registration leaves as they are (the others are replaced)."""
_OWNER_SET = frozenset(OwnerContact.model_fields)
_EVENT_SET = frozenset(EnterpriseRegistered.model_fields)
_ONBOARDED_SET = frozenset(EnterpriseOnboardedToMarketplace.model_fields)


def _rule_of(kind: Any) -> Callable[[str], str]:
    """The check a value type (``contracts.values``) runs on a text it accepts as text."""
    (check,) = (m.func for m in get_args(kind)[1:] if isinstance(m, AfterValidator))
    return check  # type: ignore[return-value]


_CHECK_NIB, _CHECK_PROVINCE, _CHECK_REGENCY, _CHECK_KBLI = (
    _rule_of(kind) for kind in (Nib, ProvinceCode, RegencyCode, Kbli)
)


def _built_as_validated(nib: str, facts: EnterpriseFacts, at: datetime) -> bool:
    if type(facts) is not EnterpriseFacts or type(nib) is not str or type(at) is not datetime:
        return False
    try:
        _CHECK_NIB(nib)
        _CHECK_PROVINCE(facts.province)
        _CHECK_REGENCY(facts.regency)
        _CHECK_KBLI(facts.kbli)
    except PydanticCustomError:
        return False  # validation says which, as it always has
    return True


def _registered(
    nib: str, facts: EnterpriseFacts, at: datetime, size_class: SizeClass
) -> Changed[Enterprise]:
    values = _ENTERPRISE_TEMPLATE.copy()  # every field, in the model's order
    values.update(facts.__dict__)
    values.update(
        products=list(facts.products),
        campaigns=list(facts.campaigns),
        marketplace_stores=[_onboarded_at(s, at) for s in facts.marketplace_stores],
        nib=nib,
        directorate=directorate_for(facts.kbli),
        size_class=size_class,
        registered_at=at,
        updated_at=at,
    )
    e = as_validated(Enterprise, values, set(_REGISTERED_SET))
    owner = as_validated(OwnerContact, {
        "name": e.owner_name, "email": e.owner_email, "phone": e.owner_phone,
        "preferred_language": e.preferred_language,
    }, set(_OWNER_SET))  # fmt: skip
    registered = as_validated(EnterpriseRegistered, {
        "nib": nib, "province": e.province, "name": e.name, "legal_form": e.legal_form,
        "regency": e.regency, "kbli": e.kbli, "directorate": e.directorate,
        "size_class": size_class, "workforce": e.workforce,
        "investment_rupiah": e.investment_rupiah, "owner": owner, "registered_at": at,
        "campaigns": list(e.campaigns),
    }, set(_EVENT_SET))  # fmt: skip
    onboarded = (_onboarded(nib, e.province, s, at) for s in e.marketplace_stores)
    return Changed(e, (registered, *onboarded))


def _onboarded(
    nib: str, province: str, store: MarketplaceStore, at: datetime
) -> EnterpriseOnboardedToMarketplace:
    values = {"nib": nib, "province": province, "platform": store.platform,
              "shop_url": store.shop_url, "onboarded_at": at}  # fmt: skip
    return as_validated(EnterpriseOnboardedToMarketplace, values, set(_ONBOARDED_SET))


def _onboarded_at(store: MarketplaceStore, at: datetime) -> MarketplaceStore:
    """``store.model_copy(update={"onboarded_at": at})``."""
    values = {**store.__dict__, "onboarded_at": at}
    return as_validated(MarketplaceStore, values, {*store.model_fields_set, "onboarded_at"})
