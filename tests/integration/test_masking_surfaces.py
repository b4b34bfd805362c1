"""The same NIK, phone number and e-mail address read the same on every surface.

API response (another system reading an enterprise), a log line, an audit report row and a
webhook body: each masks with ``contracts.privacy``, so each shows the identical form.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import ClassVar

import pytest

from contracts.base import Event, PersonalStr
from contracts.envelope import EnvelopeAttributes
from contracts.registry import EnterpriseRegistered, OwnerContact
from ikmkit.audit.chain import Checked
from ikmkit.audit.report import event_row
from ikmkit.store.sqlite import SqliteStore
from ikmkit.telemetry.otel import JsonFormatter
from services.notify.domain.webhooks import Subscription, notifications_for
from services.registry.main import definition
from services.registry.settings import RegistrySettings
from tests.support.service import RunningService, auth_headers, running_service

NIK = "3471010105900001"
PHONE = "0812-3456-7890"
EMAIL = "budi@example.id"
# The one masked form of each, whatever the surface.
NIK_MASKED = "3471********0001"
PHONE_MASKED = "0812****7890"
EMAIL_MASKED = "b***@example.id"


class _OwnerIdentified(Event):
    """A contract carrying a NIK, a phone and an e-mail (none of today's events has a NIK)."""

    TOPIC: ClassVar[str] = "ikm.test.masking.v1"
    AGGREGATE_FIELD: ClassVar[str] = "nib"

    nib: str
    owner_nik: PersonalStr
    owner_phone: PersonalStr
    owner_email: PersonalStr


@dataclass
class _Record:
    topic: str
    value: bytes
    partition: int = 0
    offset: int = 0
    key: bytes | None = None
    headers: Sequence[tuple[str, bytes]] = field(default_factory=list)


def _event() -> _OwnerIdentified:
    return _OwnerIdentified(
        nib="1000000000001", owner_nik=NIK, owner_phone=PHONE, owner_email=EMAIL
    )


@pytest.fixture(scope="module")
async def registry(
    kafka: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[RunningService]:
    store = SqliteStore(Path(tmp_path_factory.mktemp("masking")) / "registry.db")
    settings = RegistrySettings(kafka_bootstrap_servers=kafka)
    async with running_service(definition(settings, store=store)) as service:
        yield service


async def test_api_response_to_another_system(registry: RunningService) -> None:
    nib = str(uuid.uuid4().int)[:13].rjust(13, "1")
    body = {
        "nib": nib,
        "name": "CV Sama Rupa",
        "owner_name": "Budi Santoso",
        "owner_nik": NIK,
        "owner_phone": PHONE,
        "owner_email": EMAIL,
        "province": "34",
        "regency": "3471",
        "kbli": "29300",
        "workforce": 10,
        "investment_rupiah": 500_000_000,
    }
    created = await registry.client.post(
        "/enterprises", json=body, headers=auth_headers("ministry")
    )
    assert created.status_code == 201, created.text
    seen = await registry.client.get(f"/enterprises/{nib}", headers=auth_headers("service"))
    assert seen.json()["owner_nik"] == NIK_MASKED


def test_log_line() -> None:
    record = logging.LogRecord(
        "ikm.test", logging.WARNING, __file__, 1, "owner %s, %s, %s", (NIK, PHONE, EMAIL), None
    )
    message = json.loads(JsonFormatter("registry").format(record))["message"]
    assert message == f"owner {NIK_MASKED}, {PHONE_MASKED}, {EMAIL_MASKED}"


def test_audit_report_row() -> None:
    event = _event()
    record = _Record(topic=event.TOPIC, value=event.model_dump_json().encode())
    checked = Checked(record=record, raw={}, model=_OwnerIdentified, time=None, sequence=1)
    data = event_row(checked)["data"]
    assert (data["owner_nik"], data["owner_phone"], data["owner_email"]) == (
        NIK_MASKED,
        PHONE_MASKED,
        EMAIL_MASKED,
    )


def test_webhook_body() -> None:
    at = datetime.now(UTC)
    subscriber = Subscription(
        id="s1", url="https://hooks.example.id/x", event_types=["x"], secret="s", created_at=at
    )
    for event in (_event(), _registered()):
        meta = EnvelopeAttributes(
            id=str(uuid.uuid4()),
            source="/ikm/test",
            type=event.ce_type(),
            time=at,
            subject=event.aggregate_id(),
            sequence=1,
            hash="0" * 64,
        )
        (hook,) = notifications_for(event, meta, [subscriber], at)
        data = json.loads(hook.body)["data"]
        if isinstance(event, _OwnerIdentified):
            assert (data["owner_nik"], data["owner_phone"], data["owner_email"]) == (
                NIK_MASKED,
                PHONE_MASKED,
                EMAIL_MASKED,
            )
        else:
            assert data["owner"]["phone"] == PHONE_MASKED
            assert data["owner"]["email"] == EMAIL_MASKED
            assert data["owner"]["name"] == "B*** S***"
        assert NIK not in hook.body and EMAIL not in hook.body and "3456" not in hook.body


def _registered() -> EnterpriseRegistered:
    return EnterpriseRegistered(
        nib="1000000000002",
        province="34",
        name="CV Sama Rupa",
        regency="3471",
        kbli="29300",
        directorate="metal_machinery_electronics_transport",
        size_class="small",
        owner=OwnerContact(name="Budi Santoso", email=EMAIL, phone=PHONE),
        registered_at=datetime.now(UTC),
    )
