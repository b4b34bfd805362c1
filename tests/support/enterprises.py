"""The registration the messaging, outbox and consumer tests send when any enterprise will do:
a small metal-working IKM in Yogyakarta (KBLI 29300). A test names what it relies on (the
NIB, the name, the owner's contact, the time); the rest is this one sample."""

from __future__ import annotations

from datetime import UTC, datetime

from contracts.registry import EnterpriseRegistered, OwnerContact


def registration(
    nib: str,
    name: str = "CV Maju",
    *,
    owner: OwnerContact | None = None,
    at: datetime | None = None,
) -> EnterpriseRegistered:
    """Owned by "Siti" (no e-mail) unless ``owner``; registered now unless ``at``."""
    return EnterpriseRegistered(
        nib=nib,
        province="34",
        name=name,
        regency="3471",
        kbli="29300",
        directorate="metal_machinery_electronics_transport",
        size_class="small",
        owner=owner or OwnerContact(name="Siti"),
        registered_at=at or datetime.now(UTC),
    )
