"""What notify's tests over the real broker share: a webhook receiver that verifies signatures
as docs/notify.md says, the fixtures (as functions: a module makes them its own with
``pytest.fixture``; one notify service per store kind per module), events published as a
producing service's relay would, and the waits and reads of deliveries."""

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
    OwnerContact,
)
from ikm_cli.devextras import SmtpSink
from ikmdev.infra import free_port
from ikmkit.messaging.cloudevents import chain_hash, event_payload, to_headers
from ikmkit.store.mongo import MongoStore
from services.notify.main import definition
from services.notify.settings import NotifySettings
from tests.conftest import make_store
from tests.support.kafka import owner_source
from tests.support.service import RunningService, auth_headers, running_service

MINISTRY = auth_headers("ministry")


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


def receiver_server() -> Iterator[Receiver]:
    server = Receiver({})
    server._thread.start()
    yield server
    server.server.shutdown()


def smtp_sink(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SmtpSink]:
    sink = SmtpSink(directory=tmp_path_factory.mktemp("smtp")).start()
    yield sink
    sink.stop()


async def notify_service(
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


async def kafka_producer(kafka: str) -> AsyncIterator[AIOKafkaProducer]:
    client = AIOKafkaProducer(bootstrap_servers=kafka, enable_idempotence=False)
    await client.start()
    yield client
    await client.stop()


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
