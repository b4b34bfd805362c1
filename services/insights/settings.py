"""Insights settings: env prefix ``INSIGHTS_`` (plus the shared infrastructure variables)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from ikmkit.service.settings import ServiceSettings


class InsightsSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="INSIGHTS_", extra="ignore", populate_by_name=True)

    port: int = Field(8005, description="Port the insights HTTP API listens on.")
