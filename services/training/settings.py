"""Training settings: env prefix ``TRAINING_`` (plus the shared infrastructure variables)."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from ikmkit.service.settings import ServiceSettings


class TrainingSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="TRAINING_", extra="ignore", populate_by_name=True)

    port: int = Field(8003, description="Port the training HTTP API listens on.")
    certificate_key: SecretStr = Field(
        SecretStr("dev-only-certificate-key"),
        description="HMAC key that mints and verifies certificate numbers. Never change it "
        "without re-issuing: old numbers would no longer verify.",
    )
    pseudonym_key: SecretStr = Field(
        SecretStr("dev-only-pseudonym-key"),
        description="HMAC key deriving participant ids from who a person is (NIK, e-mail, name).",
    )
    max_bulk_rows: int = Field(5000, description="Most participants one bulk request may enroll.")
