"""``ikm audit rebuild`` judges events as the live consumers do: with the service's public
keys *and* its strict producers. The scratch consumers took the keys only, so an event the
registry signed before ``ce_prevhash``, which the live service dead-lettered (strict), was
applied in the rebuild: a difference that blamed the live store for being right."""

from __future__ import annotations

from pathlib import Path

from contracts.codec import decode
from contracts.registry import EnterpriseRegistered
from ikm_cli.audit_rebuild import (
    CollectingPublisher,
    load_definition,
    scratch_consumers,
    scratch_runtime,
)
from ikmkit.messaging.cloudevents import event_payload, to_headers
from ikmkit.messaging.signing import generate_keypair
from ikmkit.store.sqlite import SqliteStore
from services.subsidy.settings import SubsidySettings
from tests.support.consumer_effects import registered
from tests.support.records import legacy_signed_attributes


async def test_the_scratch_consumers_refuse_what_a_strict_live_consumer_refuses(
    tmp_path: Path,
) -> None:
    key, public = generate_keypair()
    settings = SubsidySettings(
        data_dir=tmp_path,
        event_public_keys={"registry": public},
        event_strict_producers=["registry"],
    )
    definition = load_definition("subsidy", settings)
    event = registered("8120000000002")
    older = decode(
        list(to_headers(legacy_signed_attributes(event, key))), event_payload(event).encode()
    )
    scratch = SqliteStore(tmp_path / "scratch.db")
    await scratch.open(definition.store_collections())
    try:
        publisher = CollectingPublisher("127.0.0.1:9", settings)
        runtime = scratch_runtime(definition, scratch, publisher, "127.0.0.1:9")
        consumers = scratch_consumers(definition, runtime)
        assert consumers
        for consumer in consumers:
            verdict = consumer.authenticity.check(EnterpriseRegistered.TOPIC, older)
            assert verdict is not None and "ce_prevhash" in verdict.detail
    finally:
        await scratch.close()
