"""Notify settings: env prefix ``NOTIFY_`` (plus the shared infrastructure variables)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from ikmkit.settings import ServiceSettings


class NotifySettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="NOTIFY_", extra="ignore", populate_by_name=True)

    port: int = Field(8004, description="Port the notify HTTP API listens on.")
