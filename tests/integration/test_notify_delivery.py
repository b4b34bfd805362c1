"""Notify over the real broker, both store adapters, a real SMTP sink and a real HTTP receiver.

Events are published to Kafka exactly as a producing service's outbox relay would
(CloudEvents binary headers, canonical JSON payload, key = aggregate id).
One notify service per store kind serves every test of the module.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from contracts.base import Event
from contracts.envelope import GENESIS_HASH, EnvelopeAttributes
from contracts.registry import (
    EnterpriseRegistered,
    EnterpriseUpdated,
    EnterpriseVerified,
    OwnerContact,
)
from ikm_cli.devextras import SmtpSink
from ikmdev.infra import free_port
from ikmkit.auth import Caller
from ikmkit.messaging.cloudevents import chain_hash, event_payload, to_headers
from ikmkit.messaging.outbox import OUTBOX_COLLECTIONS, Outbox
from ikmkit.service.errors import InvalidInput
from ikmkit.store import Store
from ikmkit.store.mongo import MongoStore
from services.notify import handlers, queries
from services.notify.bootstrap import bootstrap
from services.notify.commands import Subscribe
from services.notify.domain import webhooks
from services.notify.domain.destinations import AllowList
from services.notify.main import definition
from services.notify.senders import HttpWebhookSender, WebhookGuard
from services.notify.settings import NotifySettings
from services.notify.store import COLLECTIONS
from tests.conftest import STORE_KINDS, make_store
from tests.support.kafka import owner_source
from tests.support.service import RunningService, auth_headers, running_service

MINISTRY = auth_headers("ministry")


# --- a real webhook receiver that verifies signatures as docs/notify.md says ----------------


class Receiver:
    """HTTP server on 127.0.0.1; answers 500 ``fail_first[path]`` times, then 200."""

    def __init__(self, secrets: dict[str, str]) -> None:
        self.secrets = secrets  # path -> shared secret
        self.fail_first: dict[str, int] = {}
        self.calls: dict[str, int] = {}
        self.accepted: dict[str, list[dict[str, Any]]] = {}
        self.bad_signatures = 0
        self.hosts: dict[str, list[str]] = {}  # path -> Host header of each call
        self.ids: dict[str, list[str]] = {}  # path -> webhook-id of each call
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.handle(self, self.path, body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def handle(self, request: BaseHTTPRequestHandler, path: str, body: bytes) -> None:
        # Standard Webhooks, checked by its reference library: a whsec_ secret as given, an
        # older plain secret as its UTF-8 bytes (docs/notify.md).
        secret = self.secrets[path]
        key: str | bytes = secret if secret.startswith("whsec_") else secret.encode()
        self.hosts.setdefault(path, []).append(str(request.headers["Host"]))
        self.ids.setdefault(path, []).append(str(request.headers["webhook-id"]))
        try:
            Webhook(key).verify(body, dict(request.headers.items()))
        except WebhookVerificationError:
            self.bad_signatures += 1
            request.send_response(401)
            request.end_headers()
            return
        self.calls[path] = self.calls.get(path, 0) + 1
        if self.calls[path] <= self.fail_first.get(path, 0):
            request.send_response(500)
            request.end_headers()
            return
        self.accepted.setdefault(path, []).append(json.loads(body))
        request.send_response(200)
        request.end_headers()


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    server = Receiver({})
    server._thread.start()
    yield server
    server.server.shutdown()


@pytest.fixture(scope="module")
def smtp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SmtpSink]:
    sink = SmtpSink(directory=tmp_path_factory.mktemp("smtp")).start()
    yield sink
    sink.stop()


@pytest.fixture(scope="module", params=STORE_KINDS)
async def notify(
    request: pytest.FixtureRequest,
    kafka: str,
    smtp: SmtpSink,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[RunningService]:
    kind = str(request.param)
    url = request.getfixturevalue("mongo_url") if kind == "mongodb" else None
    store = make_store(kind, tmp_path_factory.mktemp("notify"), url)
    settings = NotifySettings(
        kafka_bootstrap_servers=kafka,
        smtp_host=smtp.host,
        smtp_port=smtp.port,
        smtp_connections=2,
        max_attempts=3,
        retry_base_seconds=0.05,
        retry_max_seconds=0.2,
        dispatch_idle_seconds=0.05,
        regional_emails={"32": "ikm@disperindag.jabarprov.example"},
        webhook_allowed_hosts="127.0.0.1",  # the local receiver; production allows none
    )
    async with running_service(definition(settings, store=store)) as service:
        yield service
    if isinstance(store, MongoStore):
        await store.drop()


@pytest.fixture(scope="module")
async def producer(kafka: str) -> AsyncIterator[AIOKafkaProducer]:
    client = AIOKafkaProducer(bootstrap_servers=kafka, enable_idempotence=False)
    await client.start()
    yield client
    await client.stop()


# --- helpers ----------------------------------------------------------------------------------


async def publish(
    producer: AIOKafkaProducer, event: Event, *, event_id: str | None = None, sequence: int = 1
) -> str:
    """Publish ``event`` as the producing service's outbox relay would; returns its id."""
    attrs = EnvelopeAttributes(
        id=event_id or str(uuid.uuid4()),
        type=event.ce_type(),
        source=owner_source(event),
        time=datetime.now(UTC),
        subject=event.aggregate_id(),
        region=event.region(),
        sequence=sequence,
        hash="",
    )
    payload = event_payload(event)
    attrs = attrs.model_copy(update={"hash": chain_hash(GENESIS_HASH, attrs, payload)})
    await producer.send_and_wait(
        event.TOPIC, payload.encode(), key=attrs.subject.encode(), headers=to_headers(attrs)
    )
    return attrs.id


async def until(check: Callable[[], Awaitable[Any]], what: str, timeout: float = 30) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = await check()
        if found:
            return found
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


async def deliveries(service: RunningService, event_id: str) -> dict[str, Any]:
    response = await service.client.get(
        "/deliveries", params={"event_id": event_id}, headers=MINISTRY
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def settled(service: RunningService, event_id: str) -> dict[str, Any] | None:
    """The event's deliveries report once every notification of it is delivered."""
    found = await deliveries(service, event_id)
    return found if found["total"] and found["all_delivered"] else None


def nib() -> str:
    return str(uuid.uuid4().int)[:13].rjust(13, "1")


def registered(
    number: str, *, email: str | None, language: str = "id", province: str = "34"
) -> EnterpriseRegistered:
    return EnterpriseRegistered(
        nib=number,
        province=province,
        name="CV Maju Jaya",
        regency=f"{province}71",
        kbli="29300",
        directorate="metal_machinery_electronics_transport",
        size_class="small",
        owner=OwnerContact(
            name="Budi Santoso",
            email=email,
            phone="081234567890",
            preferred_language=language,
        ),
        registered_at=datetime.now(UTC),
    )


def mails_of(sink: SmtpSink, notification_id: str) -> list[Any]:
    return [
        m for m in sink.received() if str(m["X-IKM-Notification-Id"]).strip() == notification_id
    ]


# --- tests ------------------------------------------------------------------------------------


async def test_duplicate_event_sends_one_email(
    notify: RunningService, producer: AIOKafkaProducer, smtp: SmtpSink
) -> None:
    number = nib()
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
    id_nib, en_nib = nib(), nib()
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
    number = nib()
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
    number = nib()
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
    number = nib()
    event_id = await publish(producer, registered(number, email=f"pémilik-{number}@contoh.id"))
    email_id = f"{event_id}|enterprise:{number}|email"

    async def dead() -> list[dict[str, Any]] | None:
        got = await notify.client.get("/dead", params={"limit": 500}, headers=MINISTRY)
        return [d for d in got.json()["items"] if d["id"] == email_id] or None

    parked = (await until(dead, "the e-mail to be dead"))[0]
    assert parked["attempts"] == 1
    assert "undeliverable address" in parked["last_error"]
    assert not mails_of(smtp, email_id)


async def test_webhook_500s_then_200_signed(
    notify: RunningService, producer: AIOKafkaProducer, receiver: Receiver
) -> None:
    path = f"/hooks/{uuid.uuid4().hex}"
    secret = uuid.uuid4().hex
    receiver.secrets[path] = secret
    receiver.fail_first[path] = 2
    province = "35"
    created = await notify.client.post(
        "/subscriptions",
        json={
            "url": receiver.url + path,
            "event_types": ["EnterpriseRegistered"],
            "province": province,
            "secret": secret,
        },
        headers=MINISTRY,
    )
    assert created.status_code == 201, created.text
    assert "secret" not in created.json()
    number = nib()
    event_id = await publish(producer, registered(number, email=None, province=province))

    async def accepted() -> list[dict[str, Any]] | None:
        return [e for e in receiver.accepted.get(path, []) if e["id"] == event_id] or None

    cloudevent = (await until(accepted, "the webhook to be accepted"))[0]
    assert cloudevent["type"] == EnterpriseRegistered.ce_type()
    assert cloudevent["specversion"] == "1.0"
    assert cloudevent["data"]["nib"] == number
    # Subscribers get the contract-marked personal data masked, everything else as is.
    assert cloudevent["data"]["owner"] == {
        "name": "B*** S***",
        "email": None,
        "phone": "0812****7890",
        "preferred_language": "id",
    }
    assert cloudevent["data"]["name"] == "CV Maju Jaya"
    assert receiver.calls[path] == 3
    assert receiver.bad_signatures == 0

    report = await until(
        lambda: settled(notify, event_id), "the ledger to show the webhook delivered"
    )
    hook = [n for n in report["notifications"] if n["channel"] == "webhook"]
    assert len(hook) == 1 and hook[0]["attempts"] == 3
    assert receiver.ids[path] == [hook[0]["id"]] * 3  # webhook-id: the same on every retry


async def test_a_generated_whsec_secret_is_returned_once_and_signs(
    notify: RunningService, producer: AIOKafkaProducer, receiver: Receiver
) -> None:
    path = f"/hooks/{uuid.uuid4().hex}"
    created = await notify.client.post(
        "/subscriptions",
        json={
            "url": receiver.url + path,
            "event_types": ["EnterpriseRegistered"],
            "province": "36",  # only this test's events
        },
        headers=MINISTRY,
    )
    assert created.status_code == 201, created.text
    secret = created.json()["generated_secret"]
    assert secret.startswith("whsec_")
    listed = await notify.client.get("/subscriptions", headers=MINISTRY)
    assert secret not in listed.text
    receiver.secrets[path] = secret
    event_id = await publish(producer, registered(nib(), email=None, province="36"))

    async def accepted() -> list[dict[str, Any]] | None:
        return [e for e in receiver.accepted.get(path, []) if e["id"] == event_id] or None

    await until(accepted, "the webhook signed with the generated secret to be accepted")
    assert receiver.bad_signatures == 0
    gone = await notify.client.delete(f"/subscriptions/{created.json()['id']}", headers=MINISTRY)
    assert gone.status_code == 204


@pytest.mark.parametrize(
    "url",
    [
        "http://10.0.0.1/x",
        "http://192.168.1.20:8080/x",
        "http://169.254.169.254/latest/meta-data",
        "http://127.0.0.2:9/x",  # loopback, but not the allowed 127.0.0.1
        "http://[::1]:9/x",
        "http://[fd00::1]/x",
        "http://0.0.0.0:9/x",
    ],
)
async def test_internal_urls_are_refused(notify: RunningService, url: str) -> None:
    refused = await notify.client.post(
        "/subscriptions",
        json={"url": url, "event_types": ["EnterpriseRegistered"], "secret": "x" * 16},
        headers=MINISTRY,
    )
    assert refused.status_code == 422, refused.text
    [error] = refused.json()["errors"]
    assert error["loc"] == ["body", "url"]
    assert error["rule"] == "invalid.webhook_private_address"


async def test_the_sender_posts_to_the_checked_address_and_checks_again(
    receiver: Receiver,
) -> None:
    """A name is resolved and checked before every send, and the request goes to the address
    that passed (Host stays the name): re-pointing the name at an internal address stops it."""
    table = {"hooks.test": ["127.0.0.1"]}

    async def resolve(host: str, port: int) -> list[str]:
        return table[host]

    guard = WebhookGuard(AllowList.parse("127.0.0.0/8"), resolve)
    sender = HttpWebhookSender(5.0, guard)
    path = f"/hooks/{uuid.uuid4().hex}"
    secret = webhooks.new_secret()
    receiver.secrets[path] = secret
    port = receiver.server.server_address[1]
    url = f"http://hooks.test:{port}{path}"
    body = b'{"id":"e-1"}'
    subscription = webhooks.Subscription(
        id="s", url=url, event_types=["X"], secret=secret, created_at=datetime.now(UTC)
    )
    headers = webhooks.signed_headers(subscription, body, str(int(time.time())), "n-1")
    try:
        await sender.post(url, body, headers)
        assert receiver.accepted[path] == [{"id": "e-1"}]
        assert receiver.hosts[path] == [f"hooks.test:{port}"]
        table["hooks.test"] = ["10.0.0.1"]
        with pytest.raises(InvalidInput) as refused:
            await sender.post(url, body, headers)
        assert refused.value.rule == "webhook_private_address"
        assert len(receiver.hosts[path]) == 1
    finally:
        await sender.close()


async def test_province_filter(
    notify: RunningService, producer: AIOKafkaProducer, receiver: Receiver
) -> None:
    paths = {p: f"/hooks/{p}-{uuid.uuid4().hex}" for p in ("32", "33")}
    for province, path in paths.items():
        receiver.secrets[path] = "s" * 16
        created = await notify.client.post(
            "/subscriptions",
            json={
                "url": receiver.url + path,
                "event_types": ["EnterpriseRegistered"],
                "province": province,
                "secret": "s" * 16,
            },
            headers=MINISTRY,
        )
        assert created.status_code == 201, created.text
    number = nib()
    event_id = await publish(producer, registered(number, email=None, province="32"))

    report = await until(lambda: settled(notify, event_id), "the event's notifications delivered")
    hooks = [n["target"] for n in report["notifications"] if n["channel"] == "webhook"]
    assert hooks == [receiver.url + paths["32"]]
    assert [e["id"] for e in receiver.accepted[paths["32"]]] == [event_id]
    assert paths["33"] not in receiver.accepted
    # Jawa Barat's office has a configured address: it gets the e-mail as well as the inbox.
    regional = {n["channel"] for n in report["notifications"] if n["recipient"] == "regional:32"}
    assert regional == {"inbox", "email"}


async def test_subscription_input_is_checked(notify: RunningService) -> None:
    bad = await notify.client.post(
        "/subscriptions",
        json={"url": "http://127.0.0.1:9/x", "event_types": ["NoSuchEvent"], "secret": "x" * 16},
        headers=MINISTRY,
    )
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["loc"] == ["body", "event_types"]
    regional = await notify.client.post(
        "/subscriptions",
        json={
            "url": "http://127.0.0.1:9/x",
            "event_types": ["EnterpriseRegistered"],
            "province": "31",
            "secret": "x" * 16,
        },
        headers=auth_headers("regional", province="34"),
    )
    assert regional.status_code == 403


# --- the consumer's batch decision, straight on each store ------------------------------------


def attrs_of(event: Event, sequence: int) -> EnvelopeAttributes:
    return EnvelopeAttributes(
        id=str(uuid.uuid4()),
        type=event.ce_type(),
        source=owner_source(event),
        time=datetime.now(UTC),
        subject=event.aggregate_id(),
        region=event.region(),
        sequence=sequence,
        hash="h",
    )


async def test_a_batch_is_decided_in_order_and_written_in_bulk(fresh_store: Store) -> None:
    await fresh_store.open([*COLLECTIONS, *OUTBOX_COLLECTIONS])
    deps = bootstrap(fresh_store, Outbox("urn:ikm:test"), NotifySettings())
    ministry = Caller(subject="officer", role="ministry")
    await deps.units.run(
        handlers.subscribe,
        Subscribe(
            url="http://127.0.0.1:9/hook",
            event_types=["EnterpriseRegistered"],
            secret="s" * 16,
        ),
        ministry,
    )
    number = nib()
    first, second = f"first-{number}@example.id", f"second-{number}@example.id"
    verified = EnterpriseVerified(
        nib=number, province="34", verified_by="officer-34", verified_at=datetime.now(UTC)
    )
    update = EnterpriseUpdated(
        nib=number,
        province="34",
        name="CV Maju Jaya",
        regency="3471",
        kbli="29300",
        directorate="metal_machinery_electronics_transport",
        size_class="small",
        workforce=5,
        investment_rupiah=10_000_000,
        changed_fields=["owner"],
        owner=OwnerContact(name="Budi Santoso", email=second, phone="081234567890"),
        updated_at=datetime.now(UTC),
    )
    events: list[Event] = [registered(number, email=first), verified, update, verified]
    batch = [(event, attrs_of(event, i)) for i, event in enumerate(events, start=1)]
    async with deps.units.open() as uow:
        written = await handlers.notify_about(
            uow, batch, deps.configured_contacts, deps.subscriptions
        )

    # Each event sees the contacts learned before it: the update changes the address midway.
    emails = [n.target for n in written if n.channel == "email"]
    assert emails == [first, first, second]
    async with deps.units.open() as uow:
        contact = (await uow.contacts.get_many([f"enterprise:{number}"])).popitem()[1]
        stored = await uow.tx.count("notifications", {"event_id": batch[0][1].id})
    assert contact.email == second
    assert stored == 4  # owner e-mail + owner inbox + regional inbox + webhook

    hook = next(n for n in written if n.channel == "webhook")
    assert json.loads(hook.body)["data"]["owner"]["email"] == "f***@example.id"
    assert "Budi Santoso" not in hook.body and first not in hook.body
    # Inbox text is rendered when read, from the stored event data; masked for the officers.
    messages = await deps.units.read(
        queries.messages_of, "regional:34", ministry, deps.renderer, cursor=None, limit=10
    )
    texts = [m for m in messages.items if m.event_id == batch[0][1].id]
    assert texts[0].title == "IKM baru menunggu verifikasi: CV Maju Jaya"
    assert "0812****7890" in texts[0].body and "081234567890" not in texts[0].body
