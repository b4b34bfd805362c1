"""Registry settings: env prefix ``REGISTRY_`` (plus the shared infrastructure variables)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from ikmkit.service.settings import ServiceSettings


class RegistrySettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="REGISTRY_", extra="ignore", populate_by_name=True)

    port: int = Field(8001, description="Port the registry HTTP API listens on.")
    mou_expiry_interval: float = Field(
        300.0, description="Seconds between passes that expire MoUs past their end date."
    )
