"""Events published by the registry service (enterprises, partners, MoUs)."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from contracts.base import Event, PersonalStr

ENTERPRISE_TOPIC = "ikm.registry.enterprise.v1"


class EnterpriseRegistered(Event):
    """An IKM was registered (status ``registered``, not yet verified)."""

    TOPIC: ClassVar[str] = ENTERPRISE_TOPIC
    AGGREGATE_FIELD: ClassVar[str] = "nib"
    REGION_FIELD: ClassVar[str | None] = "province"

    nib: str
    name: str
    province: str
    regency: str
    kbli: str
    directorate: str
    size_class: str
    owner_name: PersonalStr
    owner_email: PersonalStr | None = None
    owner_phone: PersonalStr | None = None
    preferred_language: str = "id"
    registered_at: datetime
