"""Each service serves its AsyncAPI 3.0 document and a readable page next to ``/docs``.

A running app (real broker, real store) answers ``GET /asyncapi.json`` with a document that
conforms to the AsyncAPI 3.0.0 JSON Schema, names its consumer groups' ``receive``
operations and dead-letter channels, and the servers' security; ``GET /asyncapi`` is a
plain HTML page (no script, nothing from a CDN) that names every channel.
"""

from __future__ import annotations

from html.parser import HTMLParser
from importlib import import_module
from pathlib import Path
from typing import Any

import pytest

from contracts.catalog import TOPIC_OWNERS, events_on
from contracts.topics import dead_letter_topic
from ikmkit.messaging.consumer import EventConsumer
from tests.conftest import make_store
from tests.support.asyncapi import asyncapi_errors
from tests.support.service import RunningService, running_service

SERVICES = ["registry", "subsidy", "training", "notify", "insights"]


def _settings(service: str, kafka: str) -> Any:
    module = import_module(f"services.{service}.settings")
    return getattr(module, f"{service.capitalize()}Settings")(kafka_bootstrap_servers=kafka)


async def _document(running: RunningService) -> dict[str, Any]:
    response = await running.client.get("/asyncapi.json")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    document: dict[str, Any] = response.json()
    return document


def _addresses(document: dict[str, Any]) -> dict[str, str]:
    return {channel["address"]: key for key, channel in document["channels"].items()}


def _operations(document: dict[str, Any], action: str) -> set[str]:
    """The addresses of the channels ``action`` operations refer to."""
    channels = document["channels"]
    return {
        channels[op["channel"]["$ref"].rsplit("/", 1)[-1]]["address"]
        for op in document["operations"].values()
        if op["action"] == action
    }


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.text: list[str] = []
        self.tags: set[str] = set()
        self.sources: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.sources += [v or "" for k, v in attrs if k in {"src", "href"}]

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _assert_dead_letter_documented(document: dict[str, Any]) -> None:
    dead_letter = document["components"]["messages"]["DeadLetter"]
    headers = document["components"]["schemas"][dead_letter["headers"]["$ref"].rsplit("/", 1)[-1]]
    assert {"dlq_reason", "dlq_error", "dlq_consumer_group", "dlq_original_topic"} <= set(
        headers["properties"]
    )


def _assert_consumer_side(document: dict[str, Any], consumer: EventConsumer[Any]) -> None:
    """A receive operation per topic the group follows, and the group's dead-letter channels."""
    addresses = _addresses(document)
    channels = document["channels"]
    assert consumer.topics, consumer.group
    received = {
        channels[op["channel"]["$ref"].rsplit("/", 1)[-1]]["address"]
        for op in document["operations"].values()
        if op["action"] == "receive" and op.get("x-consumer-group") == consumer.group
    }
    assert received == set(consumer.topics)
    for topic in consumer.topics:
        assert set(channels[addresses[topic]]["messages"]) == {m.__name__ for m in events_on(topic)}
        dlq = dead_letter_topic(topic, consumer.group)
        assert dlq in addresses, dlq
        messages = channels[addresses[dlq]]["messages"]
        assert list(messages.values()) == [{"$ref": "#/components/messages/DeadLetter"}]
    dead_letters = {dead_letter_topic(t, consumer.group) for t in consumer.topics}
    assert _operations(document, "send") >= dead_letters
    _assert_dead_letter_documented(document)


def _assert_servers_secured(document: dict[str, Any]) -> None:
    schemes = document["components"]["securitySchemes"]
    assert {s["type"] for s in schemes.values()} >= {"scramSha512"}
    servers = document["servers"]
    assert {s["protocol"] for s in servers.values()} >= {"kafka", "kafka-secure"}
    assert any(not s.get("security") for s in servers.values())  # dev: plaintext
    assert any(s.get("security") for s in servers.values())


async def _assert_page_names_everything(running: RunningService, document: dict[str, Any]) -> None:
    page = await running.client.get("/asyncapi")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    parsed = _Text()
    parsed.feed(page.text)
    text = " ".join(parsed.text)
    assert "script" not in parsed.tags
    assert all(src.startswith(("#", "/")) for src in parsed.sources)  # nothing from elsewhere
    for address in _addresses(document):
        assert address in text, address
    for name in document["components"]["messages"]:
        assert name in text, name


@pytest.mark.parametrize("service", SERVICES)
async def test_service_serves_a_conformant_asyncapi_document_and_page(
    service: str, kafka: str, tmp_path: Path
) -> None:
    main = import_module(f"services.{service}.main")
    definition = main.definition(
        _settings(service, kafka), store=make_store("sqlite", tmp_path, None)
    )
    async with running_service(definition) as running:
        document = await _document(running)
        assert asyncapi_errors(document) == []
        produced = {t for t, owner in TOPIC_OWNERS.items() if owner == service}
        assert _operations(document, "send") >= produced
        assert running.runtime.consumers or service == "registry"
        for consumer in running.runtime.consumers:
            _assert_consumer_side(document, consumer)
        _assert_servers_secured(document)
        await _assert_page_names_everything(running, document)
