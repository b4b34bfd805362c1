"""The AsyncAPI documents (``contracts.asyncapi``) conform to AsyncAPI 3.0 and tell the truth."""

from __future__ import annotations

import json

from contracts import generate
from contracts.asyncapi import DEAD_LETTER_HEADERS, ConsumerGroup, asyncapi_document
from contracts.catalog import TOPIC_OWNERS, events_on
from contracts.registry import ENTERPRISE_TOPIC, MOU_TOPIC
from contracts.topics import dead_letter_topic
from ikmkit.messaging import deadletter
from ikmkit.service.asyncapi_page import render_page
from tests.support.asyncapi import asyncapi_errors

TRAINING = ConsumerGroup("training", (ENTERPRISE_TOPIC, MOU_TOPIC))


def test_committed_platform_document_conforms_to_asyncapi_3() -> None:
    document = json.loads(generate.ASYNCAPI_FILE.read_text(encoding="utf-8"))
    assert asyncapi_errors(document) == []
    assert document == json.loads(json.dumps(asyncapi_document()))


def test_the_schema_check_rejects_a_broken_document() -> None:
    document = asyncapi_document()
    document["operations"]["bogus"] = {"action": "publish", "channel": {"$ref": "#/channels/x"}}
    assert asyncapi_errors(document)


def test_a_service_document_has_its_groups_receives_and_dead_letter_channels() -> None:
    document = asyncapi_document("training", [TRAINING])
    assert asyncapi_errors(document) == []
    addresses = {c["address"] for c in document["channels"].values()}
    for topic in TRAINING.topics:
        assert dead_letter_topic(topic, "training") in addresses
    receives = [op for op in document["operations"].values() if op["action"] == "receive"]
    assert {op["x-consumer-group"] for op in receives} == {"training"}
    assert {op["bindings"]["kafka"]["groupId"]["enum"][0] for op in receives} == {"training"}
    assert len(receives) == len(TRAINING.topics)
    for operation in receives:
        channel = document["channels"][operation["channel"]["$ref"].rsplit("/", 1)[-1]]
        expected = {m.__name__ for m in events_on(channel["address"])}
        assert set(channel["messages"]) == expected
        assert {m["$ref"].rsplit("/", 1)[-1] for m in operation["messages"]} == expected
        assert expected <= set(document["components"]["messages"])
    channels = document["channels"]
    sends = {
        channels[op["channel"]["$ref"].rsplit("/", 1)[-1]]["address"]
        for op in document["operations"].values()
        if op["action"] == "send"
    }
    own = {t for t, owner in TOPIC_OWNERS.items() if owner == "training"}
    assert own
    assert sends == own | {dead_letter_topic(t, "training") for t in TRAINING.topics}


def test_dead_letter_headers_are_the_ones_the_kit_writes() -> None:
    written = {getattr(deadletter, name) for name in dir(deadletter) if name.startswith("H_DLQ_")}
    assert set(DEAD_LETTER_HEADERS) == written


def test_servers_name_their_security() -> None:
    document = asyncapi_document()
    servers = document["servers"]
    assert "security" not in servers["development"]
    scheme_refs = {
        s["$ref"] for name in ("production", "production-tls") for s in servers[name]["security"]
    }
    assert scheme_refs == {"#/components/securitySchemes/scramSha512"}
    assert servers["production-tls"]["protocol"] == "kafka-secure"
    assert document["components"]["securitySchemes"]["scramSha512"]["type"] == "scramSha512"


def test_the_page_escapes_what_it_shows_and_runs_nothing() -> None:
    document = asyncapi_document("training", [TRAINING])
    document["info"]["description"] = "<script>alert(1)</script>"
    page = render_page(document)
    assert "<script>" not in page
    assert "&lt;script&gt;" in page
    for channel in document["channels"].values():
        assert channel["address"] in page
    assert "personal data" in page  # the owner's contact fields are marked
