"""One valid instance of every contract event, built from its published JSON Schema.

Interop and packaging tests need "every event type the platform writes" without a
hand-written sample per type (a new contract is covered as soon as it is generated).
Values come from the schema: its ``examples``, enums, formats, patterns and bounds.
"""

from __future__ import annotations

import re
from typing import Any

from contracts.base import Event
from contracts.catalog import EVENTS_BY_NAME
from contracts.schema import Schema

_FORMATS = {
    "date-time": "2026-01-02T03:04:05Z",
    "date": "2026-01-02",
    "time": "03:04:05",
    "email": "budi@example.id",
    "uri": "https://example.id/hook",
    "duration": "P1D",
    "uuid": "0190a5c4-0000-7000-8000-000000000001",
}


def _string(node: Schema) -> str:
    if node.get("format") in _FORMATS:
        return _FORMATS[node["format"]]
    pattern = node.get("pattern")
    digits = re.fullmatch(r"\^\\d\{(\d+)\}\$", pattern or "")
    if digits:
        return "3" * int(digits.group(1))
    return "x" * max(1, int(node.get("minLength", 1)))


def _value(node: Schema, defs: Schema) -> Any:
    if "$ref" in node:
        return _value(defs[node["$ref"].rsplit("/", 1)[-1]], defs)
    if "examples" in node:
        return node["examples"][0]
    if "const" in node:
        return node["const"]
    if "enum" in node:
        return node["enum"][0]
    for key in ("anyOf", "oneOf"):
        if key in node:
            options = [o for o in node[key] if o.get("type") != "null"]
            return _value(options[0], defs)
    kind = node.get("type")
    if kind == "object" or "properties" in node:
        data = {name: _value(prop, defs) for name, prop in node.get("properties", {}).items()}
        extra = node.get("additionalProperties")
        if isinstance(extra, dict) and not data:
            data = {"k": _value(extra, defs)}
        return data
    if kind == "array":
        return [_value(node.get("items", {}), defs)]
    if kind == "integer":
        return max(1, int(node.get("minimum", node.get("exclusiveMinimum", 0) + 1)))
    if kind == "number":
        return 1
    if kind == "boolean":
        return True
    return _string(node)


def sample(model: type[Event]) -> Event:
    schema = model.model_json_schema()
    return model.model_validate(_value(schema, schema.get("$defs", {})))


def every_event() -> list[Event]:
    return [sample(model) for _, model in sorted(EVENTS_BY_NAME.items())]


async def platform_records(events: list[Event], repeat: int = 1) -> list[dict[str, Any]]:
    """The Kafka records the platform writes for ``events``: the real outbox stamps them (in
    its SQLite store) and the relay's ``row_message`` turns each row into a message.

    Each record is ``{topic, key, headers: [[name, value]], value}`` (text), the form the
    packaging test hands to a clean interpreter. ``repeat`` > 1 chains several events of
    each aggregate.
    """
    from contracts.catalog import owner_of
    from contracts.topics import source_of
    from ikmkit.messaging.outbox import OUTBOX, OUTBOX_COLLECTIONS, Outbox, row_message
    from ikmkit.store.sqlite import SqliteStore

    store = SqliteStore(":memory:")
    await store.open(list(OUTBOX_COLLECTIONS))
    try:
        for event in events:
            outbox = Outbox(source_of(owner_of(event.TOPIC) or "unknown"))
            for _ in range(repeat):
                async with store.transaction() as tx:
                    await outbox.add(tx, event)
        async with store.transaction() as tx:
            page = await tx.find(OUTBOX, order_by=[("created_ns", 1)], limit=100_000)
    finally:
        await store.close()
    records = []
    for row in page.items:
        message = row_message(row)
        records.append(
            {
                "topic": message.topic,
                "key": message.key.decode(),
                "headers": [[k, v.decode()] for k, v in message.headers],
                "value": message.value.decode(),
            }
        )
    return records
