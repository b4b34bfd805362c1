"""Training settings: env prefix ``TRAINING_`` (plus the shared infrastructure variables)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from ikmkit.settings import ServiceSettings


class TrainingSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="TRAINING_", extra="ignore", populate_by_name=True)

    port: int = Field(8003, description="Port the training HTTP API listens on.")
