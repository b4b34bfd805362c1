"""Every value a client can send has a documented maximum, read from each service's OpenAPI.

Walks every request body and query parameter of the four services: each string has a
``maxLength`` (or is an enum, a date or a time), each list a ``maxItems``, each map a
``maxProperties``, each integer a ``minimum`` and a ``maximum``. A field added without a
bound fails here, naming it. The largest event one request can produce must also fit a
Kafka message with room to spare (the relay never meets an unpublishable event from a
valid request).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import pytest

from contracts.training import CourseScheduled, CourseSession
from ikmkit.messaging.cloudevents import event_payload
from ikmkit.service import limits
from ikmkit.service.runtime import create_service_app
from services.notify.main import definition as notify_definition
from services.registry.main import definition as registry_definition
from services.subsidy.main import definition as subsidy_definition
from services.training.main import definition as training_definition

DEFINITIONS = {
    "registry": registry_definition,
    "subsidy": subsidy_definition,
    "training": training_definition,
    "notify": notify_definition,
}
UNBOUNDED_STRING_FORMATS = {"date", "date-time", "time", "duration"}
KAFKA_MESSAGE_BYTES = 1024 * 1024


def openapi(service: str) -> dict[str, Any]:
    return create_service_app(DEFINITIONS[service]()).openapi()


def resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = {
            **document["components"]["schemas"][name],
            **{k: v for k, v in schema.items() if k != "$ref"},
        }
    return schema


def unbounded(document: dict[str, Any], schema: dict[str, Any], where: str) -> Iterator[str]:
    schema = resolve(document, schema)
    for key in ("anyOf", "oneOf", "allOf"):
        for i, option in enumerate(schema.get(key, [])):
            yield from unbounded(document, option, f"{where}[{key}{i}]")
    kind = schema.get("type")
    if kind == "string" and not (
        "maxLength" in schema
        or "enum" in schema
        or "const" in schema
        or schema.get("format") in UNBOUNDED_STRING_FORMATS
    ):
        yield f"{where}: string without maxLength"
    elif kind in ("integer", "number") and not ("maximum" in schema and "minimum" in schema):
        if "enum" not in schema and "const" not in schema:
            yield f"{where}: {kind} without minimum and maximum"
    elif kind == "array":
        if "maxItems" not in schema:
            yield f"{where}: list without maxItems"
        yield from unbounded(document, schema.get("items", {}), f"{where}[]")
    elif kind == "object":
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict):
            if "maxProperties" not in schema:
                yield f"{where}: map without maxProperties"
            yield from unbounded(document, extra, f"{where}{{}}")
        for name, field in schema.get("properties", {}).items():
            yield from unbounded(document, field, f"{where}.{name}")


def request_inputs(document: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            label = f"{method.upper()} {path}"
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "query":
                    yield f"{label} ?{parameter['name']}", parameter["schema"]
            body = operation.get("requestBody", {}).get("content", {})
            for media in body.values():
                yield f"{label} body", media["schema"]


@pytest.mark.parametrize("service", list(DEFINITIONS))
def test_every_request_value_has_a_maximum(service: str) -> None:
    document = openapi(service)
    found = [
        problem
        for where, schema in request_inputs(document)
        for problem in unbounded(document, schema, where)
    ]
    assert not found, f"{service}: unbounded input\n" + "\n".join(found)


def test_the_largest_course_event_fits_a_kafka_message() -> None:
    """CourseScheduled copies the request's sessions and venues: the one event whose size a
    client steers most. Every string at its maximum, in 4-byte characters."""
    wide = "\U0001f3ed"  # a factory: four bytes in UTF-8

    def text(n: int) -> str:
        return wide * n

    session = CourseSession(
        session_id=text(limits.CODE_MAX),
        title=text(limits.NAME_MAX),
        day=date(2026, 7, 18),
        venue=text(limits.NAME_MAX),
        host=text(limits.NAME_MAX),
    )
    event = CourseScheduled(
        course_id=text(limits.CODE_MAX),
        title=text(limits.NAME_MAX),
        kind="capacity_building",
        organizer_id=text(limits.CODE_MAX),
        co_organizer_ids=[text(limits.CODE_MAX)] * limits.ITEMS_MAX,
        start_date=date(2026, 7, 18),
        end_date=date(2026, 7, 30),
        venues=[text(limits.NAME_MAX)] * limits.ITEMS_MAX,
        online_url=text(limits.URL_MAX),
        province="91",  # region and country codes are two characters by their contract
        country="ID",
        eligible_countries=["ID"] * limits.ITEMS_MAX,
        capacity=limits.COUNT_MAX,
        sessions=[session] * limits.SESSIONS_MAX,
        scheduled_by=text(limits.KEY_MAX),
        scheduled_at=datetime.now(UTC),
    )
    size = len(event_payload(event).encode())
    assert size < KAFKA_MESSAGE_BYTES * 0.9, size
