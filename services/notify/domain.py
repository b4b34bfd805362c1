"""Notify domain: who is told what about which event. Pure, no I/O."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from contracts.registry import EnterpriseRegistered


class InboxMessage(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    recipient: str
    event_id: str
    event_type: str
    title: str
    body: str
    created_at: str
    read: bool = False


def enterprise_recipient(nib: str) -> str:
    return f"enterprise:{nib}"


def regional_recipient(province: str) -> str:
    return f"regional:{province}"


def recipients_of_registration(event: EnterpriseRegistered) -> list[str]:
    return [enterprise_recipient(event.nib), regional_recipient(event.province)]


def registration_message(event: EnterpriseRegistered, recipient: str) -> tuple[str, str]:
    if recipient.startswith("enterprise:"):
        return (
            "Pendaftaran IKM diterima",
            f"{event.name} (NIB {event.nib}) telah terdaftar dan menunggu verifikasi.",
        )
    return (
        "IKM baru menunggu verifikasi",
        f"{event.name} (NIB {event.nib}) terdaftar di wilayah Anda dan menunggu verifikasi.",
    )
