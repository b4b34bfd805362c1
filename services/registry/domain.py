"""Registry domain rules: pure, no I/O."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

from contracts.registry import Directorate
from ikmkit.errors import InvalidInput

SizeClass = Literal["small", "medium", "large"]
EnterpriseStatus = Literal["registered", "verified", "active", "suspended"]

_NIB = re.compile(r"^\d{13}$")


def check_nib(nib: str) -> str:
    if not _NIB.match(nib):
        raise InvalidInput("NIB must be exactly 13 digits", field="nib", rule="nib_format")
    return nib


def directorate_for(kbli: str) -> Directorate:
    """The Ditjen IKMA directorate that owns a manufacturing KBLI code."""
    division = int(kbli[:2])
    if division in (10, 11, 12, 16, 31):
        return "food_furniture_wood"
    if division in (13, 14, 15, 17, 18, 19, 20, 21, 22, 23, 32):
        return "chemicals_clothing_crafts"
    return "metal_machinery_electronics_transport"


def size_class_for(workforce: int, investment_rupiah: int) -> SizeClass:
    """Placeholder rule, completed by the registry issue."""
    if workforce < 20 and investment_rupiah < 1_000_000_000:
        return "small"
    if workforce < 100 and investment_rupiah < 15_000_000_000:
        return "medium"
    return "large"


class Enterprise(BaseModel):
    model_config = ConfigDict(frozen=True)

    nib: str
    name: str
    province: str
    regency: str
    kbli: str
    directorate: Directorate
    workforce: int
    investment_rupiah: int
    size_class: SizeClass
    owner_name: str
    owner_email: str | None = None
    owner_phone: str | None = None
    preferred_language: str = "id"
    status: EnterpriseStatus = "registered"
    registered_at: datetime
    version: int = 0
