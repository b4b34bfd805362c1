"""Subsidy settings: env prefix ``SUBSIDY_`` (plus the shared infrastructure variables)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from ikmkit.service.settings import ServiceSettings


class SubsidySettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="SUBSIDY_", extra="ignore", populate_by_name=True)

    port: int = Field(8002, description="Port the subsidy HTTP API listens on.")
    regional_approval_limit_rupiah: int = Field(
        50_000_000,
        description="Largest rebate a regional officer may approve; above it only the ministry.",
    )
    approval_concurrency: int = Field(
        8,
        ge=1,
        description="Approvals one process runs at once; more wait (budgets stay correct anyway).",
    )
