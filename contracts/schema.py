"""The JSON Schema of an event's ``data``, as generated and published (``contracts/schemas``).

Besides the fields, a schema carries the event's routing facts as ``x-`` keys and the paths of
its personal-data fields (``x-personal-data-fields``), which audit reports mask.
"""

from __future__ import annotations

from typing import Any

from contracts.base import PERSONAL_DATA_MARK, Event

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"

Schema = dict[str, Any]


def personal_data_paths(schema: Schema) -> list[str]:
    """Dotted paths (``owner.email``, ``sessions[].trainer``) of fields marked personal data."""
    defs: Schema = schema.get("$defs", {})
    found: list[str] = []

    def walk(node: Any, path: str, seen: frozenset[str]) -> None:
        if not isinstance(node, dict):
            return
        if node.get(PERSONAL_DATA_MARK):
            found.append(path)
            return
        ref = node.get("$ref")
        if isinstance(ref, str):
            name = ref.rsplit("/", 1)[-1]
            if name not in seen:
                walk(defs.get(name), path, seen | {name})
        for key in ("anyOf", "oneOf", "allOf"):
            for option in node.get(key, []):
                walk(option, path, seen)
        if "items" in node:
            walk(node["items"], f"{path}[]", seen)
        if isinstance(node.get("additionalProperties"), dict):
            walk(node["additionalProperties"], f"{path}{{}}", seen)
        for name, prop in node.get("properties", {}).items():
            walk(prop, f"{path}.{name}" if path else name, seen)

    walk(schema, "", frozenset())
    return sorted(set(found))


def dataschema_of(model: type[Event]) -> str:
    """The ``$id`` of the event's published schema, sent as its CloudEvents ``dataschema``.

    A URN, not a URL: it names the schema wherever it is served (the ``ikm-contracts``
    wheel, the services, a registry); a breaking change is a new event version, so a new id.
    """
    return f"urn:ikm:contract:{model.__name__}:v{model.VERSION}"


def event_schema(model: type[Event]) -> Schema:
    """The JSON Schema of one event's ``data``, with its routing facts as ``x-`` keys."""
    schema = model.model_json_schema()
    return {
        "$schema": JSON_SCHEMA_DIALECT,
        "$id": dataschema_of(model),
        **schema,
        "x-cloudevents-type": model.ce_type(),
        "x-topic": model.TOPIC,
        "x-aggregate-field": model.AGGREGATE_FIELD,
        "x-region-field": model.REGION_FIELD,
        "x-personal-data-fields": personal_data_paths(schema),
    }


def schema_for(dataschema: str) -> Schema:
    """The published JSON Schema a ``ce_dataschema`` names (the files this package carries)."""
    import json
    from pathlib import Path

    prefix, _, rest = dataschema.partition("urn:ikm:contract:")
    name, _, version = rest.rpartition(":v")
    path = Path(__file__).resolve().parent / "schemas" / f"{name}.json"
    if prefix or not name.isidentifier() or not version.isdigit() or not path.is_file():
        raise KeyError(f"no published schema {dataschema!r}")
    schema: Schema = json.loads(path.read_text(encoding="utf-8"))
    if schema.get("$id") != dataschema:
        raise KeyError(f"no published schema {dataschema!r} (the current one is {schema['$id']})")
    return schema
