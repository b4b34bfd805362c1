"""Notify's webhooks over the real broker, both store adapters and a real HTTP receiver that
verifies the Standard Webhooks signature: retries, generated secrets, internal URLs refused
(also when a name is re-pointed after the check), province filters, subscription input.
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer

from contracts.registry import (
    EnterpriseRegistered,
)
from ikmkit.service.errors import InvalidInput
from services.notify.domain import webhooks
from services.notify.domain.destinations import AllowList
from services.notify.senders import HttpWebhookSender, WebhookGuard
from tests.conftest import STORE_KINDS
from tests.support.notify_service import (
    MINISTRY,
    Receiver,
    kafka_producer,
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
    number = random_nib()
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
    event_id = await publish(producer, registered(random_nib(), email=None, province="36"))

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
    number = random_nib()
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


@pytest.mark.parametrize("own", ["NotificationDead", "NotificationDelivered"])
async def test_notifys_own_events_are_not_offered_to_subscribers(
    notify: RunningService, own: str
) -> None:
    """Notify does not consume its own delivery topic, so a subscription to its events was
    201 and never received one (an integrator waiting for dead-notification alerts)."""
    refused = await notify.client.post(
        "/subscriptions",
        json={"url": "http://127.0.0.1:9/x", "event_types": [own], "secret": "x" * 16},
        headers=MINISTRY,
    )
    assert refused.status_code == 422, refused.text
    [error] = refused.json()["errors"]
    assert error["loc"] == ["body", "event_types"]
    assert error["rule"] == "invalid.known_event" and own in error["detail"]


async def test_a_subscription_sent_again_with_its_key_is_made_once(
    notify: RunningService, receiver: Receiver
) -> None:
    """A regional system that timed out on ``POST /subscriptions`` and sent it again had two
    subscriptions, and its receiver every event twice; with an ``Idempotency-Key`` the retry
    answers the first response (its generated secret too: the same caller's same request)."""
    url = f"{receiver.url}/hooks/{uuid.uuid4().hex}"
    body = {"url": url, "event_types": ["EnterpriseRegistered"], "province": "51"}
    headers = {**MINISTRY, "Idempotency-Key": f'"{uuid.uuid4()}"'}
    first = await notify.client.post("/subscriptions", json=body, headers=headers)
    again = await notify.client.post("/subscriptions", json=body, headers=headers)
    assert first.status_code == again.status_code == 201, again.text
    assert again.json() == first.json()
    listed = await notify.client.get("/subscriptions", headers=MINISTRY)
    assert [s["id"] for s in listed.json()["items"] if s["url"] == url] == [first.json()["id"]]
    gone = await notify.client.delete(f"/subscriptions/{first.json()['id']}", headers=MINISTRY)
    assert gone.status_code == 204
