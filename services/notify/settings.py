"""Notify settings: env prefix ``NOTIFY_`` (plus the shared infrastructure variables)."""

from __future__ import annotations

import ipaddress
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from ikmkit.service.settings import ServiceSettings


class NotifySettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="NOTIFY_", extra="ignore", populate_by_name=True)

    port: int = Field(8004, description="Port the notify HTTP API listens on.")
    smtp_host: str = Field("127.0.0.1", description="SMTP server host.")
    smtp_port: int = Field(1025, description="SMTP server port.")
    smtp_security: Literal["none", "starttls", "tls"] = Field(
        "none",
        description="none, starttls (upgrade after connect) or tls (implicit TLS). Production"
        " refuses none with SMTP AUTH to a relay off this host (the password in clear).",
    )
    smtp_username: str | None = Field(None, description="SMTP AUTH user (unset: no auth).")
    smtp_password: SecretStr | None = Field(None, description="SMTP AUTH password.")
    smtp_from: str = Field("IKM Kemenperin <noreply@ikm.kemenperin.go.id>", description="From.")
    smtp_timeout: float = Field(10.0, description="Seconds before an SMTP operation fails.")
    smtp_connections: int = Field(8, description="SMTP connections kept open and reused.")
    webhook_timeout: float = Field(10.0, description="Seconds a webhook receiver may take.")
    webhook_allowed_hosts: str = Field(
        "",
        description=(
            "Webhook destinations allowed although internal (comma-separated host names, IP"
            " addresses, CIDR networks). Empty: loopback, link-local, private, multicast and"
            " reserved addresses are refused."
        ),
    )
    max_attempts: int = Field(6, description="Send attempts before a notification is dead.")
    retry_base_seconds: float = Field(2.0, description="First retry after about this long.")
    retry_max_seconds: float = Field(600.0, description="Longest wait between attempts.")
    dispatch_batch: int = Field(500, description="Notifications the dispatcher takes per pass.")
    dispatch_concurrency: int = Field(32, description="Sends in flight at once.")
    dispatch_idle_seconds: float = Field(0.5, description="Poll interval when nothing is due.")
    dispatch_lease_seconds: float = Field(
        10.0,
        gt=0,
        description="One replica's dispatcher sends at a time, holding a lease it renews; when"
        " that replica dies another's takes over within this many seconds.",
    )
    regional_emails: dict[str, str] = Field(
        default_factory=dict,
        description='Province -> Disperindag address (JSON), e.g. {"34": "ikm@jogjaprov.go.id"}',
    )
    ministry_email: str | None = Field(None, description="Address of the ministry's desk.")

    def production_problems(self) -> list[str]:
        problems = super().production_problems()
        in_clear = self.smtp_security == "none" and not _on_this_host(self.smtp_host)
        if self.production and self.smtp_username and in_clear:
            problems.append(
                "NOTIFY_SMTP_USERNAME is set but NOTIFY_SMTP_SECURITY is none: the relay's"
                " password and every e-mail would cross the network in clear (starttls, tls)"
            )
        return problems


def _on_this_host(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
