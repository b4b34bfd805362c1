"""Generate, check and publish the event contracts; the compatibility gate.

``python -m contracts.generate``            write ``contracts/schemas/<Event>.json`` and
                                            ``contracts/asyncapi.yaml`` from the catalog
``python -m contracts.generate --check``    fail if those committed files are stale
``python -m contracts.generate --gate``     fail if the committed schemas break a published one
``python -m contracts.generate --publish``  snapshot the committed schemas into
                                            ``contracts/published/`` (a release step)

The gate compares the *committed* generated schemas (not the live models) with the
published snapshot, so work in progress on a model fails nothing until it is
regenerated. Rules (see docs/contracts.md): on a published topic only optional
fields may be added; removing or renaming a field, changing its type, format,
enum values or nullability, making an optional field required (or the reverse),
adding a required field or dropping an event type is a breaking change and needs
a new ``.v<N+1>`` topic.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from contracts import envelope as ce
from contracts.base import PERSONAL_DATA_MARK, Event
from contracts.catalog import EVENTS_BY_NAME, all_topics, events_on

CONTRACTS_DIR = Path(__file__).resolve().parent
SCHEMAS_DIR = CONTRACTS_DIR / "schemas"
PUBLISHED_DIR = CONTRACTS_DIR / "published"
ASYNCAPI_FILE = CONTRACTS_DIR / "asyncapi.yaml"
JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"

Schema = dict[str, Any]


# --------------------------------------------------------------------------- schemas


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


def event_schema(model: type[Event]) -> Schema:
    """The JSON Schema of one event's ``data``, with its routing facts as ``x-`` keys."""
    schema = model.model_json_schema()
    return {
        "$schema": JSON_SCHEMA_DIALECT,
        "$id": f"urn:ikm:contract:{model.__name__}:v{model.VERSION}",
        **schema,
        "x-cloudevents-type": model.ce_type(),
        "x-topic": model.TOPIC,
        "x-aggregate-field": model.AGGREGATE_FIELD,
        "x-region-field": model.REGION_FIELD,
        "x-personal-data-fields": personal_data_paths(schema),
    }


def render_json(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


# --------------------------------------------------------------------------- AsyncAPI


def _channel_id(topic: str) -> str:
    return topic.replace(".", "_")


def cloudevents_headers_schema() -> Schema:
    string = {"type": "string"}
    return {
        "type": "object",
        "description": "CloudEvents 1.0 Kafka binary binding plus the platform's extensions.",
        "required": [
            ce.H_SPECVERSION,
            ce.H_ID,
            ce.H_TYPE,
            ce.H_SOURCE,
            ce.H_TIME,
            ce.H_SUBJECT,
            ce.H_SEQUENCE,
            ce.H_HASH,
            ce.H_CONTENT_TYPE,
        ],
        "properties": {
            ce.H_SPECVERSION: {"const": ce.SPEC_VERSION},
            ce.H_ID: {**string, "description": "Event id (UUID); consumers deduplicate on it."},
            ce.H_TYPE: {**string, "description": "id.go.kemenperin.ikm.<Event>.v<N>"},
            ce.H_SOURCE: {**string, "description": "/ikm/<service>"},
            ce.H_TIME: {**string, "format": "date-time", "description": "When it happened (UTC)"},
            ce.H_SUBJECT: {**string, "description": "Aggregate id; equals the Kafka key."},
            ce.H_REGION: {**string, "description": "Province code (Kemendagri), if any."},
            ce.H_SEQUENCE: {
                **string,
                "pattern": "^[1-9][0-9]*$",
                "description": "Aggregate sequence number per topic: 1, 2, 3 ... without gaps.",
            },
            ce.H_HASH: {
                **string,
                "pattern": "^[0-9a-f]{64}$",
                "description": "sha256(previous ce_hash + canonical JSON of the event), hex; "
                "the first event's previous hash is 64 zeros. See docs/contracts.md.",
            },
            ce.H_SIGNATURE: {
                **string,
                "description": "Optional Ed25519 signature of ce_hash (base64) by the source.",
            },
            ce.H_CONTENT_TYPE: {"const": ce.CONTENT_TYPE},
            ce.H_TRACEPARENT: {**string, "description": "W3C trace context."},
        },
    }


def _hoisted_schemas() -> dict[str, Schema]:
    """Every event's schema with nested models moved to ``components/schemas``."""
    schemas: dict[str, Schema] = {}
    for name, model in sorted(EVENTS_BY_NAME.items()):
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        for def_name, definition in schema.pop("$defs", {}).items():
            if schemas.get(def_name, definition) != definition:
                raise ValueError(f"two different nested models are both named {def_name!r}")
            schemas[def_name] = definition
        schema["x-personal-data-fields"] = personal_data_paths(model.model_json_schema())
        schemas[name] = schema
    return schemas


def asyncapi_document() -> Schema:
    """One AsyncAPI 3.0 document: a channel per topic, a message per event type."""
    channels: Schema = {}
    operations: Schema = {}
    messages: Schema = {}
    for topic in all_topics():
        channel_id = _channel_id(topic)
        service = topic.split(".")[1]
        names = sorted(m.__name__ for m in events_on(topic))
        channels[channel_id] = {
            "address": topic,
            "title": topic,
            "description": f"Published by the {service} service; Kafka key = aggregate id.",
            "messages": {n: {"$ref": f"#/components/messages/{n}"} for n in names},
        }
        operations[f"{service}_publishes_{channel_id}"] = {
            "action": "send",
            "title": f"{service} publishes on {topic}",
            "channel": {"$ref": f"#/channels/{channel_id}"},
            "messages": [{"$ref": f"#/channels/{channel_id}/messages/{n}"} for n in names],
        }
        for name in names:
            model = EVENTS_BY_NAME[name]
            messages[name] = {
                "name": name,
                "title": name,
                "summary": (model.__doc__ or name).strip().splitlines()[0],
                "contentType": ce.CONTENT_TYPE,
                "headers": {"$ref": "#/components/schemas/CloudEventsHeaders"},
                "payload": {"$ref": f"#/components/schemas/{name}"},
                "bindings": {"kafka": {"key": {"type": "string"}, "bindingVersion": "0.5.0"}},
                "x-cloudevents-type": model.ce_type(),
                "x-aggregate-field": model.AGGREGATE_FIELD,
            }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "IKM platform events",
            "version": "1.0.0",
            "description": "Every topic of the Kemenperin IKM platform (generated from "
            "contracts/; do not edit: run `make contracts`). Fields marked "
            f"`{PERSONAL_DATA_MARK}: true` carry personal data (UU PDP, Law 27/2022).",
        },
        "defaultContentType": ce.CONTENT_TYPE,
        "servers": {
            "kafka": {
                "host": "localhost:9092",
                "pathname": "",
                "protocol": "kafka",
                "description": "Set KAFKA_BOOTSTRAP_SERVERS for a real deployment.",
            }
        },
        "channels": channels,
        "operations": operations,
        "components": {
            "messages": messages,
            "schemas": {"CloudEventsHeaders": cloudevents_headers_schema(), **_hoisted_schemas()},
        },
    }


def render_yaml(value: Any) -> str:
    import yaml  # a dev tool dependency; only generation needs it

    return yaml.safe_dump(value, sort_keys=True, allow_unicode=True, width=100)


# --------------------------------------------------------------------------- files


def expected_files() -> dict[Path, str]:
    files = {
        SCHEMAS_DIR / f"{n}.json": render_json(event_schema(m)) for n, m in EVENTS_BY_NAME.items()
    }
    files[ASYNCAPI_FILE] = render_yaml(asyncapi_document())
    return files


def write_generated() -> list[Path]:
    SCHEMAS_DIR.mkdir(exist_ok=True)
    expected = expected_files()
    for stale in set(SCHEMAS_DIR.glob("*.json")) - set(expected):
        stale.unlink()
    for path, text in expected.items():
        path.write_text(text, encoding="utf-8")
    return sorted(expected)


def stale_files() -> list[str]:
    """Generated files whose committed text differs from what the models generate now."""
    expected = expected_files()
    problems = [
        f"{path.relative_to(CONTRACTS_DIR.parent)} is stale or missing"
        for path, text in expected.items()
        if not path.exists() or path.read_text(encoding="utf-8") != text
    ]
    problems += [
        f"{path.relative_to(CONTRACTS_DIR.parent)} has no event any more"
        for path in SCHEMAS_DIR.glob("*.json")
        if path not in expected
    ]
    return sorted(problems)


def load_schemas(directory: Path) -> dict[str, Schema]:
    return {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in directory.glob("*.json")}


def publish() -> list[Path]:
    """Snapshot the committed schemas as the published ones (after the gate passed)."""
    PUBLISHED_DIR.mkdir(exist_ok=True)
    copied = []
    for path in sorted(SCHEMAS_DIR.glob("*.json")):
        shutil.copyfile(path, PUBLISHED_DIR / path.name)
        copied.append(PUBLISHED_DIR / path.name)
    return copied


# --------------------------------------------------------------------------- compatibility


@dataclass(frozen=True)
class Breaking:
    event: str
    field: str
    rule: str
    detail: str

    def __str__(self) -> str:
        where = f"field '{self.field}'" if self.field else "the event"
        return f"{self.event}: {where}: {self.detail} [{self.rule}]"


@dataclass(frozen=True)
class _Shape:
    """A schema node reduced to what compatibility depends on."""

    kind: str  # "object" | "array" | "map" | "scalar" | "union"
    nullable: bool
    scalar: tuple[Any, ...] = ()
    node: Any = None


def _resolve(node: Schema, defs: Schema) -> Schema:
    seen: set[str] = set()
    while "$ref" in node:
        name = str(node["$ref"]).rsplit("/", 1)[-1]
        if name in seen:
            break
        seen.add(name)
        node = {**defs.get(name, {}), **{k: v for k, v in node.items() if k != "$ref"}}
    return node


def _shape(node: Schema, defs: Schema) -> _Shape:
    node = _resolve(node, defs)
    options = node.get("anyOf") or node.get("oneOf")
    if options:
        non_null = [o for o in options if o.get("type") != "null"]
        nullable = len(non_null) < len(options)
        if len(non_null) == 1:
            inner = _shape(non_null[0], defs)
            return _Shape(inner.kind, nullable or inner.nullable, inner.scalar, inner.node)
        key = tuple(sorted(json.dumps(_shape(o, defs).scalar, default=str) for o in non_null))
        return _Shape("union", nullable, key, non_null)
    kind = node.get("type")
    if kind == "object" and "properties" in node:
        return _Shape("object", False, (), node)
    if kind == "object":
        return _Shape("map", False, (), node.get("additionalProperties", {}))
    if kind == "array":
        return _Shape("array", False, (), node.get("items", {}))
    enum = node.get("enum")
    if "const" in node:
        enum = [node["const"]]
    return _Shape(
        "scalar",
        kind == "null",
        (kind, node.get("format"), tuple(enum) if enum is not None else None),
        node,
    )


def _describe(shape: _Shape) -> str:
    if shape.kind != "scalar":
        return shape.kind
    kind, fmt, enum = shape.scalar
    text = str(kind) + (f" ({fmt})" if fmt else "")
    return text + (f" one of {list(enum)}" if enum is not None else "")


def compare_schemas(event: str, old: Schema, new: Schema) -> list[Breaking]:
    """Breaking changes between a published and a current schema of one event."""
    problems: list[Breaking] = []
    old_defs, new_defs = old.get("$defs", {}), new.get("$defs", {})

    def report(path: str, rule: str, detail: str) -> None:
        problems.append(Breaking(event, path, rule, detail))

    def compare(old_node: Schema, new_node: Schema, path: str) -> None:
        before, after = _shape(old_node, old_defs), _shape(new_node, new_defs)
        if before.kind != after.kind or (before.kind == "union" and before.scalar != after.scalar):
            report(
                path, "type_changed", f"type changed from {_describe(before)} to {_describe(after)}"
            )
            return
        if before.nullable != after.nullable:
            report(
                path,
                "nullability_changed",
                "may now be null" if after.nullable else "may no longer be null",
            )
        if before.kind == "scalar":
            if before.scalar[:2] != after.scalar[:2]:
                report(
                    path,
                    "type_changed",
                    f"type changed from {_describe(before)} to {_describe(after)}",
                )
            elif before.scalar[2] != after.scalar[2]:
                report(
                    path,
                    "enum_changed",
                    f"allowed values changed from {_describe(before)} to {_describe(after)}",
                )
        elif before.kind in ("array", "map"):
            compare(
                before.node, after.node, f"{path}[]" if before.kind == "array" else f"{path}{{}}"
            )
        elif before.kind == "object":
            compare_objects(before.node, after.node, path)

    def compare_objects(old_obj: Schema, new_obj: Schema, prefix: str) -> None:
        old_props, new_props = old_obj.get("properties", {}), new_obj.get("properties", {})
        old_required, new_required = (
            set(old_obj.get("required", [])),
            set(new_obj.get("required", [])),
        )
        added = sorted(set(new_props) - set(old_props))
        for name, old_prop in old_props.items():
            path = f"{prefix}.{name}" if prefix else name
            if name not in new_props:
                hint = f" (renamed to one of {added}?)" if added else ""
                report(path, "field_removed", f"removed or renamed{hint}")
                continue
            if name in new_required and name not in old_required:
                report(path, "optional_became_required", "optional field became required")
            elif name in old_required and name not in new_required:
                report(path, "required_became_optional", "required field became optional")
            compare(old_prop, new_props[name], path)
        for name in added:
            if name in new_required:
                path = f"{prefix}.{name}" if prefix else name
                report(path, "required_field_added", "new field is required (add it as optional)")

    compare_objects(old, new, "")
    for key in ("x-topic", "x-aggregate-field"):
        if old.get(key) != new.get(key):
            report(
                "", "routing_changed", f"{key} changed from {old.get(key)!r} to {new.get(key)!r}"
            )
    return problems


def compatibility_problems(
    published: dict[str, Schema], current: dict[str, Schema]
) -> list[Breaking]:
    problems: list[Breaking] = []
    for event, old in sorted(published.items()):
        new = current.get(event)
        if new is None:
            problems.append(
                Breaking(event, "", "event_removed", f"published on {old.get('x-topic')} but gone")
            )
            continue
        problems += compare_schemas(event, old, new)
    return problems


def gate() -> list[Breaking]:
    """The committed schemas against the published snapshot."""
    return compatibility_problems(load_schemas(PUBLISHED_DIR), load_schemas(SCHEMAS_DIR))


# --------------------------------------------------------------------------- CLI


def _print_all(lines: Iterator[str] | list[str]) -> None:
    for line in lines:
        print(line, file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m contracts.generate", description=__doc__)
    action = parser.add_mutually_exclusive_group()
    action.add_argument("--check", action="store_true", help="fail if generated files are stale")
    action.add_argument("--gate", action="store_true", help="fail on breaking changes")
    action.add_argument("--publish", action="store_true", help="snapshot the published schemas")
    args = parser.parse_args(argv)
    if args.check:
        stale = stale_files()
        _print_all(stale + (["run `make contracts` and commit the result"] if stale else []))
        return 1 if stale else 0
    if args.publish and stale_files():
        _print_all([*stale_files(), "run `make contracts` first: only fresh schemas are published"])
        return 1
    if args.gate or args.publish:
        problems = gate()
        _print_all([f"BREAKING {p}" for p in problems])
        if problems:
            print(
                "a breaking change needs a new .v<N+1> topic: see docs/contracts.md",
                file=sys.stderr,
            )
            return 1
        if args.publish:
            print(f"published {len(publish())} schemas to {PUBLISHED_DIR}")
        return 0
    written = write_generated()
    print(f"wrote {len(written)} files under {CONTRACTS_DIR}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
