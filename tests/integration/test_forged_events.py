"""Only the owner can speak on a topic: subsidy and notify over the real broker.

The registry's public key is configured in both consumers. Four EnterpriseRegistered
events are produced straight onto the registry's topic (as anyone with write
access could): the forgery from issue 11 (``ce_source=/evil/forger``, made-up hash,
fresh id), one claiming the registry as source but signed with another key, one
unsigned, and one genuinely signed with the registry's key. Only the last is applied;
the others are dead-lettered with reason ``forged`` in both groups.

Then copies of genuine signed events: onto other content after the genuine event was read
(an event signed before ``ce_prevhash``: the inbox of signed hashes refuses it), and, with
the event as the registry's outbox writes it now, three copies read *before* the genuine
one (each consumer recomputes ``ce_hash`` from the event and its ``ce_prevhash``); and the
rule for events signed before ``ce_prevhash``, accepted unless the producer is strict.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer

from contracts.envelope import EnvelopeAttributes
from contracts.registry import ENTERPRISE_TOPIC, EnterpriseRegistered
from contracts.topics import dead_letter_topic
from ikm_cli.devextras import SmtpSink
from ikmkit.messaging.cloudevents import event_payload, to_headers
from ikmkit.messaging.outbox import OUTBOX, OUTBOX_COLLECTIONS, Outbox, OutgoingMessage, row_message
from ikmkit.messaging.signing import generate_keypair, signer_from_key
from services.notify.main import definition as notify_definition
from services.notify.settings import NotifySettings
from services.subsidy.main import definition as subsidy_definition
from services.subsidy.settings import SubsidySettings
from tests.conftest import make_store
from tests.support.forged import enterprise, send
from tests.support.kafka import eventually, header, read_topic
from tests.support.records import legacy_signed_attributes
from tests.support.service import RunningService, auth_headers, running_services

REGISTRY_KEY, REGISTRY_PUBLIC = generate_keypair()
OTHER_KEY, _ = generate_keypair()
MINISTRY = auth_headers("ministry")


@pytest.fixture(scope="module")
def smtp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SmtpSink]:
    sink = SmtpSink(directory=tmp_path_factory.mktemp("smtp")).start()
    yield sink
    sink.stop()


@asynccontextmanager
async def subsidy_and_notify(
    kafka: str, smtp: SmtpSink, tmp_path: Path, strict_producers: list[str]
) -> AsyncIterator[tuple[RunningService, RunningService]]:
    """Subsidy (strict for ``strict_producers``) and notify, both trusting the registry's key."""
    keys = {"registry": REGISTRY_PUBLIC}
    subsidy = subsidy_definition(
        SubsidySettings(
            kafka_bootstrap_servers=kafka,
            event_public_keys=keys,
            event_strict_producers=strict_producers,
        ),
        store=make_store("sqlite", tmp_path, None),
    )
    notify = notify_definition(
        NotifySettings(
            kafka_bootstrap_servers=kafka,
            event_public_keys=keys,
            smtp_host=smtp.host,
            smtp_port=smtp.port,
            dispatch_idle_seconds=0.05,
        ),
        store=make_store("sqlite", tmp_path, None),
    )
    async with running_services(subsidy, notify) as (sub, ntf):
        yield sub, ntf


@pytest.fixture
async def services(
    kafka: str, smtp: SmtpSink, tmp_path: Path
) -> AsyncIterator[tuple[RunningService, RunningService]]:
    async with subsidy_and_notify(kafka, smtp, tmp_path, strict_producers=[]) as pair:
        yield pair


async def replica(sub: RunningService, nib: str) -> dict[str, Any] | None:
    async with sub.runtime.store.transaction() as uow:
        return await uow.get("enterprises", nib)


async def inbox(ntf: RunningService, nib: str) -> list[Any]:
    response = await ntf.client.get(
        "/inbox", params={"recipient": f"enterprise:{nib}"}, headers=MINISTRY
    )
    assert response.status_code == 200, response.text
    items: list[Any] = response.json()["items"]
    return items


async def mails(smtp: SmtpSink, event: EnterpriseRegistered) -> list[Any]:
    return smtp.to(f"owner-{event.nib}@example.id")


async def parked(kafka: str, group: str, nib: str) -> list[Any]:
    records = await read_topic(kafka, dead_letter_topic(ENTERPRISE_TOPIC, group))
    return [r for r in records if r.key == nib.encode()]


async def test_only_the_registry_signed_by_its_key_is_heard(
    services: tuple[RunningService, RunningService], kafka: str, smtp: SmtpSink
) -> None:
    sub, ntf = services
    forged, wrong_key, unsigned, genuine = (
        enterprise("Forged Co"),
        enterprise("Wrong Key Co"),
        enterprise("Unsigned Co"),
        enterprise("Genuine Co"),
    )
    producer = AIOKafkaProducer(bootstrap_servers=kafka, enable_idempotence=False)
    await producer.start()
    try:
        await send(producer, forged, source="/evil/forger", made_up_hash=True)
        await send(producer, wrong_key, signing_key=OTHER_KEY)
        await send(producer, unsigned)
        await send(producer, genuine, signing_key=REGISTRY_KEY)
    finally:
        await producer.stop()

    await eventually(lambda: replica(sub, genuine.nib), timeout=30)
    await eventually(lambda: inbox(ntf, genuine.nib), timeout=30)
    await eventually(lambda: mails(smtp, genuine), timeout=30)
    why = {}
    for group in ("subsidy", "notify"):
        for event in (forged, wrong_key, unsigned):
            letters = await eventually(lambda e=event, g=group: parked(kafka, g, e.nib))
            assert header(letters[0], "dlq_reason") == "forged"
            why[(group, event.name)] = header(letters[0], "dlq_error") or ""
    assert "ce_source '/evil/forger'" in why[("subsidy", "Forged Co")]
    assert "does not verify" in why[("notify", "Wrong Key Co")]
    assert "no ce_signature" in why[("subsidy", "Unsigned Co")]
    for event in (forged, wrong_key, unsigned):
        assert await replica(sub, event.nib) is None
        assert await inbox(ntf, event.nib) == []
        assert await mails(smtp, event) == []


def _signed(event: EnterpriseRegistered) -> EnvelopeAttributes:
    """Signed as before ``ce_prevhash`` (the one event a signature can be copied from)."""
    return legacy_signed_attributes(event, REGISTRY_KEY)


async def _produce(kafka: str, event: EnterpriseRegistered, attrs: EnvelopeAttributes) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=kafka, enable_idempotence=False)
    await producer.start()
    try:
        payload = event_payload(event).encode()
        await producer.send_and_wait(
            ENTERPRISE_TOPIC, payload, key=event.nib.encode(), headers=to_headers(attrs)
        )
    finally:
        await producer.stop()


async def test_a_genuine_signature_copied_onto_other_content_is_forged(
    services: tuple[RunningService, RunningService], kafka: str, smtp: SmtpSink
) -> None:
    """Someone who can write the topic copies a genuine event's signed ce_hash onto another
    enterprise's content with a fresh id: each consumer has processed the genuine one, so
    the copy is dead-lettered as forged, with no replica, message or e-mail."""
    sub, ntf = services
    genuine, evil = enterprise("Genuine Two Co"), enterprise("Evil Twin Co")
    attrs = _signed(genuine)
    await _produce(kafka, genuine, attrs)
    await eventually(lambda: replica(sub, genuine.nib), timeout=30)
    await eventually(lambda: inbox(ntf, genuine.nib), timeout=30)
    # after the genuine event was read (as an attacker copies what was published)
    copied = attrs.model_copy(update={"id": str(uuid.uuid4()), "subject": evil.nib})
    await _produce(kafka, evil, copied)
    for group in ("subsidy", "notify"):
        letters = await eventually(lambda g=group: parked(kafka, g, evil.nib), timeout=30)
        assert header(letters[0], "dlq_reason") == "forged"
        assert header(letters[0], "ce_id") == copied.id
        assert "processed already under another ce_id" in (header(letters[0], "dlq_error") or "")
    assert await replica(sub, evil.nib) is None
    assert await inbox(ntf, evil.nib) == []
    assert await mails(smtp, evil) == []
    assert len(await eventually(lambda: mails(smtp, genuine), timeout=30)) == 1


async def _as_the_registry_relays(event: EnterpriseRegistered, tmp_path: Path) -> OutgoingMessage:
    """``event`` stamped by a registry outbox with the registry's key, as its relay sends it."""
    store = make_store("sqlite", tmp_path, None)
    await store.open(list(OUTBOX_COLLECTIONS))
    try:
        async with store.transaction() as uow:
            attrs = await Outbox("/ikm/registry", signer=signer_from_key(REGISTRY_KEY)).add(
                uow, event
            )
        async with store.transaction() as uow:
            row = await uow.get(OUTBOX, attrs.id)
    finally:
        await store.close()
    assert row is not None
    return row_message(row)


async def _send_raw(kafka: str, messages: list[tuple[bytes, list[tuple[str, bytes]]]]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=kafka, enable_idempotence=False)
    await producer.start()
    try:
        for value, headers in messages:
            await producer.send_and_wait(
                ENTERPRISE_TOPIC, value, key=dict(headers)["ce_subject"], headers=headers
            )
    finally:
        await producer.stop()


def _with(headers: list[tuple[str, bytes]], **changed: str | None) -> list[tuple[str, bytes]]:
    """``headers`` with the named ones replaced (None: removed), in their order."""
    names = {f"ce_{k}": v for k, v in changed.items()}
    return [
        (k, v if k not in names else str(names[k]).encode())
        for k, v in headers
        if k not in names or names[k] is not None
    ]


async def test_a_copied_signature_read_before_the_genuine_event_is_forged(
    services: tuple[RunningService, RunningService], kafka: str, smtp: SmtpSink, tmp_path: Path
) -> None:
    """Someone who can write the topic copies a genuine event's signed ``ce_hash`` (with every
    other header) onto other content and gets it read *first*: under a new id, under the
    genuine id, and with ``ce_prevhash`` stripped to pass as an event signed before it
    existed. Each consumer recomputes the hash from the event alone, so the three copies are
    dead-lettered as forged and the genuine event, read after them, is applied (not refused
    as a replay, nor skipped as a duplicate of the copy that took its id)."""
    sub, ntf = services
    genuine = enterprise("Genuine First Co")
    message = await _as_the_registry_relays(genuine, tmp_path)
    evil = genuine.model_copy(update={"name": "Evil First Co", "kbli": "10110"})
    forged_value = event_payload(evil).encode()
    new_id, stripped_id = str(uuid.uuid4()), str(uuid.uuid4())
    genuine_id = dict(message.headers)["ce_id"].decode()
    await _send_raw(
        kafka,
        [
            (forged_value, _with(message.headers, id=new_id)),
            (forged_value, message.headers),
            (forged_value, _with(message.headers, id=stripped_id, prevhash=None)),
            (message.value, message.headers),
        ],
    )
    await eventually(lambda: inbox(ntf, genuine.nib), timeout=30)
    assert len(await eventually(lambda: mails(smtp, genuine), timeout=30)) == 1
    stored = await eventually(lambda: replica(sub, genuine.nib), timeout=30)
    assert stored is not None and stored["name"] == "Genuine First Co"
    for group in ("subsidy", "notify"):
        letters = await eventually(
            lambda g=group: _at_least(parked(kafka, g, genuine.nib), 3), timeout=30
        )
        why = {
            header(r, "ce_id"): (header(r, "dlq_reason"), header(r, "dlq_error")) for r in letters
        }
        assert len(letters) == 3, why
        assert {reason for reason, _ in why.values()} == {"forged"}
        assert "does not match this event" in (why[new_id][1] or "")
        assert "does not match this event" in (why[genuine_id][1] or "")
        assert "does not verify" in (why[stripped_id][1] or "")
    assert len(await inbox(ntf, genuine.nib)) == 1
    assert (await replica(sub, genuine.nib) or {})["kbli"] == genuine.kbli


async def _at_least(found: Any, count: int) -> list[Any]:
    records: list[Any] = await found
    return records if len(records) >= count else []


@pytest.fixture
async def strict_subsidy(
    kafka: str, smtp: SmtpSink, tmp_path: Path
) -> AsyncIterator[tuple[RunningService, RunningService]]:
    """Subsidy configured strict for the registry (``IKM_EVENT_STRICT_PRODUCERS``), notify not."""
    async with subsidy_and_notify(kafka, smtp, tmp_path, strict_producers=["registry"]) as pair:
        yield pair


async def test_an_event_signed_before_prevhash_is_refused_only_where_its_producer_is_strict(
    strict_subsidy: tuple[RunningService, RunningService], kafka: str, smtp: SmtpSink
) -> None:
    """An event as the registry signed them before ``ce_prevhash`` (over ``ce_hash`` alone):
    notify accepts it on its signature (the documented rule for older events); subsidy, told
    that every registry event it still reads carries ``ce_prevhash``, dead-letters it."""
    sub, ntf = strict_subsidy
    older = enterprise("Older Co")
    await _produce(kafka, older, _signed(older))
    await eventually(lambda: inbox(ntf, older.nib), timeout=30)
    letters = await eventually(lambda: parked(kafka, "subsidy", older.nib), timeout=30)
    assert header(letters[0], "dlq_reason") == "forged"
    assert "carry ce_prevhash" in (header(letters[0], "dlq_error") or "")
    assert await replica(sub, older.nib) is None
    assert await parked(kafka, "notify", older.nib) == []
