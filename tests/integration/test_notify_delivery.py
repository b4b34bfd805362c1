"""Notify over the real broker, both store adapters and a real SMTP sink: one e-mail per event
however often it arrives, rendering and masking, the inbox, retries, parking and redrive,
addresses no server takes. One notify service per store kind serves the module
(tests/support/notify_service.py).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer

from contracts.registry import (
    EnterpriseUpdated,
    EnterpriseVerified,
    OwnerContact,
)
from ikm_cli.devextras import SmtpSink
from tests.conftest import STORE_KINDS
from tests.support.notify_service import (
    MINISTRY,
    deliveries,
    kafka_producer,
    mails_of,
    notify_service,
    publish,
    receiver_server,
    registered,
    settled,
    smtp_sink,
    until,
)
from tests.support.service import RunningService, auth_headers
from tests.support.values import random_nib

receiver = pytest.fixture(receiver_server, scope="module", name="receiver")
smtp = pytest.fixture(smtp_sink, scope="module", name="smtp")
notify = pytest.fixture(notify_service, scope="module", params=STORE_KINDS, name="notify")
producer = pytest.fixture(kafka_producer, scope="module", name="producer")


async def test_duplicate_event_sends_one_email(
    notify: RunningService, producer: AIOKafkaProducer, smtp: SmtpSink
) -> None:
    number = random_nib()
    address = f"owner-{number}@example.id"
    event = registered(number, email=address)
    event_id = await publish(producer, event)
    await publish(producer, event, event_id=event_id)  # redelivery of the same event
    # Same key, same partition: once the later event is handled, the duplicate was too.
    marker = EnterpriseVerified(
        nib=number, province="34", verified_by="officer-34", verified_at=datetime.now(UTC)
    )
    marker_id = await publish(producer, marker, sequence=2)

    async def marker_mailed() -> bool:
        return bool(mails_of(smtp, f"{marker_id}|enterprise:{number}|email"))

    await until(marker_mailed, "the later event's e-mail")
    email_id = f"{event_id}|enterprise:{number}|email"

    async def mailed() -> bool:  # a batch's e-mails are sent side by side, in any order
        return bool(mails_of(smtp, email_id))

    await until(mailed, "the event's e-mail")
    assert len(mails_of(smtp, email_id)) == 1
    report = await until(lambda: settled(notify, event_id), "the ledger to record the e-mail")
    assert len(mails_of(smtp, email_id)) == 1
    assert {(n["recipient"], n["channel"]) for n in report["notifications"]} == {
        (f"enterprise:{number}", "email"),
        (f"enterprise:{number}", "inbox"),
        ("regional:34", "inbox"),
    }
    assert report["summary"] == "delivered to 3 of 3 recipients/subscribers"
    # Inbox messages are delivered by the write itself: reported as one delivered attempt each.
    inbox_attempts = {
        (a["recipient"], a["status"], a["attempt"])
        for a in report["attempts"]
        if a["channel"] == "inbox"
    }
    assert inbox_attempts == {
        (f"enterprise:{number}", "delivered", 1),
        ("regional:34", "delivered", 1),
    }


async def test_indonesian_and_english_rendering_and_masking(
    notify: RunningService, producer: AIOKafkaProducer, smtp: SmtpSink
) -> None:
    id_nib, en_nib = random_nib(), random_nib()
    id_event = await publish(producer, registered(id_nib, email=f"id-{id_nib}@example.id"))
    en_event = await publish(
        producer, registered(en_nib, email=f"en-{en_nib}@example.id", language="en")
    )

    async def both_mailed() -> list[Any] | None:
        id_mail = mails_of(smtp, f"{id_event}|enterprise:{id_nib}|email")
        en_mail = mails_of(smtp, f"{en_event}|enterprise:{en_nib}|email")
        return [id_mail[0], en_mail[0]] if id_mail and en_mail else None

    id_mail, en_mail = await until(both_mailed, "both e-mails")
    assert id_mail["Subject"] == "Pendaftaran IKM diterima: CV Maju Jaya"
    assert "Yth. Budi Santoso" in id_mail.get_content()
    assert en_mail["Subject"] == "IKM registration received: CV Maju Jaya"
    assert "Dear Budi Santoso" in en_mail.get_content()
    # The regional officers' inbox shows the owner's phone masked; the owner is not told it.
    regional = await notify.client.get(
        "/inbox", params={"recipient": "regional:34", "limit": 500}, headers=MINISTRY
    )
    mine = [m for m in regional.json()["items"] if m["event_id"] == id_event]
    assert len(mine) == 1
    assert "0812****7890" in mine[0]["body"]
    assert "081234567890" not in mine[0]["body"]


async def test_inbox_read_and_unread_counts(
    notify: RunningService, producer: AIOKafkaProducer
) -> None:
    number = random_nib()
    await publish(producer, registered(number, email=None))
    recipient = f"enterprise:{number}"
    owner = auth_headers("enterprise", nib=number)

    async def inbox() -> dict[str, Any] | None:
        got = await notify.client.get("/inbox", params={"recipient": recipient}, headers=owner)
        assert got.status_code == 200, got.text
        body: dict[str, Any] = got.json()
        return body if body["items"] else None

    body = await until(inbox, "the owner's inbox message")
    assert body["unread"] == 1
    read = await notify.client.post(f"/inbox/{body['items'][0]['id']}/read", headers=owner)
    assert read.status_code == 204
    unread = await notify.client.get(
        "/inbox/unread", params={"recipient": recipient}, headers=owner
    )
    assert unread.json()["unread"] == 0
    other = await notify.client.get(
        "/inbox", params={"recipient": "enterprise:9999999999999"}, headers=owner
    )
    assert other.status_code == 403


async def test_smtp_down_retries_then_parks_then_redrive_delivers(
    notify: RunningService, producer: AIOKafkaProducer, smtp: SmtpSink
) -> None:
    number = random_nib()
    smtp.stop()
    try:
        event_id = await publish(producer, registered(number, email=f"down-{number}@example.id"))
        email_id = f"{event_id}|enterprise:{number}|email"

        async def parked() -> list[dict[str, Any]] | None:
            got = await notify.client.get("/dead", params={"limit": 500}, headers=MINISTRY)
            found = [d for d in got.json()["items"] if d["id"] == email_id]
            return found or None

        dead = (await until(parked, "the e-mail to be parked"))[0]
        assert dead["attempts"] == 3
        assert dead["last_error"]
    finally:
        smtp.start()
    report = await deliveries(notify, event_id)
    assert report["dead"] == 1 and report["all_delivered"] is False
    failed = [a for a in report["attempts"] if a["notification_id"] == email_id]
    assert [a["status"] for a in failed] == ["failed", "failed", "dead"]
    assert all(a["error"] for a in failed)

    redriven = await notify.client.post("/dead/redrive", json={"ids": [email_id]}, headers=MINISTRY)
    assert redriven.status_code == 200, redriven.text
    assert redriven.json()["redriven"] == [email_id]

    async def mailed() -> bool:
        return bool(mails_of(smtp, email_id))

    await until(mailed, "the redriven e-mail")

    report = await until(
        lambda: settled(notify, event_id), "every notification of the event delivered"
    )
    statuses = [a["status"] for a in report["attempts"] if a["notification_id"] == email_id]
    assert statuses == ["failed", "failed", "dead", "redriven", "delivered"]
    again = await notify.client.post("/dead/redrive", json={"ids": [email_id]}, headers=MINISTRY)
    assert again.status_code == 422  # no longer dead


async def test_an_address_no_server_can_take_is_dead_after_one_attempt(
    notify: RunningService, producer: AIOKafkaProducer, smtp: SmtpSink
) -> None:
    # Refused at registration now, but events from earlier or other producers may carry one:
    # without SMTPUTF8 it can never be sent, so retrying would only delay the dead letter.
    number = random_nib()
    event_id = await publish(producer, registered(number, email=f"pémilik-{number}@contoh.id"))
    email_id = f"{event_id}|enterprise:{number}|email"

    async def dead() -> list[dict[str, Any]] | None:
        got = await notify.client.get("/dead", params={"limit": 500}, headers=MINISTRY)
        return [d for d in got.json()["items"] if d["id"] == email_id] or None

    parked = (await until(dead, "the e-mail to be dead"))[0]
    assert parked["attempts"] == 1
    assert "undeliverable address" in parked["last_error"]
    assert not mails_of(smtp, email_id)


async def test_a_redrive_goes_to_the_address_the_owner_corrected(
    notify: RunningService, producer: AIOKafkaProducer, smtp: SmtpSink
) -> None:
    """The operator's flow: an e-mail dies on a bad address, the owner's address is corrected
    in the registry (EnterpriseUpdated), the dead e-mail is redriven: it goes to the address
    the owner has now (it was sent to the dead address again, and died again)."""
    number = random_nib()
    event_id = await publish(producer, registered(number, email=f"pémilik-{number}@contoh.id"))
    email_id = f"{event_id}|enterprise:{number}|email"

    async def dead() -> bool:
        got = await notify.client.get("/dead", params={"limit": 500}, headers=MINISTRY)
        return any(d["id"] == email_id for d in got.json()["items"])

    await until(dead, "the e-mail to the bad address to be dead")
    corrected = f"pemilik-{number}@contoh.id"
    now = datetime.now(UTC)
    update = EnterpriseUpdated(
        nib=number, province="34", name="CV Maju Jaya", regency="3471", kbli="29300",
        directorate="metal_machinery_electronics_transport", size_class="small",
        workforce=12, investment_rupiah=150_000_000, changed_fields=["owner.email"],
        owner=OwnerContact(name="Budi Santoso", email=corrected, phone="081234567890"),
        updated_at=now,
    )  # fmt: skip
    await publish(producer, update, sequence=2)
    marker = EnterpriseVerified(nib=number, province="34", verified_by="o-34", verified_at=now)
    marker_id = await publish(producer, marker, sequence=3)

    async def marker_mailed() -> bool:  # same partition: the update is in the replica
        return bool(mails_of(smtp, f"{marker_id}|enterprise:{number}|email"))

    await until(marker_mailed, "the later event's e-mail")
    redriven = await notify.client.post("/dead/redrive", json={"ids": [email_id]}, headers=MINISTRY)
    assert redriven.status_code == 200, redriven.text

    async def attempted_again() -> dict[str, Any] | None:
        report = await deliveries(notify, event_id)
        [state] = [n for n in report["notifications"] if n["id"] == email_id]
        return state if state["status"] != "pending" else None

    state = await until(attempted_again, "the redriven e-mail's attempt")
    assert state["status"] == "delivered", state
    [mail] = mails_of(smtp, email_id)
    assert mail["To"] == corrected
    assert state["target"] == "p***@contoh.id"
