"""Generate, check and publish the event contracts; the compatibility gate.

``python -m contracts.generate``            write ``contracts/schemas/<Event>.json`` and
                                            ``contracts/asyncapi.yaml`` from the catalog
``python -m contracts.generate --check``    fail if those committed files are stale
``python -m contracts.generate --gate``     fail if the committed schemas break a published one
``python -m contracts.generate --publish``  snapshot the committed schemas into
                                            ``contracts/published/`` (a release step)

The gate compares the *committed* generated schemas (not the live models) with the
published snapshot, so work in progress on a model fails nothing until it is
regenerated. The rules are ``contracts.compatibility``'s; a schema is
``contracts.schema.event_schema``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from contracts import envelope as ce
from contracts.base import PERSONAL_DATA_MARK
from contracts.catalog import EVENTS_BY_NAME, all_topics, events_on
from contracts.compatibility import Breaking, compatibility_problems
from contracts.schema import Schema, event_schema, personal_data_paths

CONTRACTS_DIR = Path(__file__).resolve().parent
SCHEMAS_DIR = CONTRACTS_DIR / "schemas"
PUBLISHED_DIR = CONTRACTS_DIR / "published"
ASYNCAPI_FILE = CONTRACTS_DIR / "asyncapi.yaml"


def render_json(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


# --------------------------------------------------------------------------- AsyncAPI


def _channel_id(topic: str) -> str:
    return topic.replace(".", "_")


def cloudevents_headers_schema() -> Schema:
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
        "properties": _cloudevents_header_properties(),
    }


def _cloudevents_header_properties() -> Schema:
    string = {"type": "string"}
    return {
        ce.H_SPECVERSION: {"const": ce.SPEC_VERSION},
        ce.H_ID: {**string, "description": "Event id (UUID); consumers deduplicate on it."},
        ce.H_TYPE: {**string, "description": "id.go.kemenperin.ikm.<Event>.v<N>"},
        ce.H_SOURCE: {**string, "description": "/ikm/<service>"},
        ce.H_TIME: {**string, "format": "date-time", "description": "When it happened (UTC)"},
        ce.H_SUBJECT: {**string, "description": "Aggregate id; equals the Kafka key."},
        ce.H_REGION: {**string, "description": "Province code (Kemendagri), if any."},
        ce.H_SEQUENCE: {
            **string,
            "pattern": "^[0-9]+$",
            "description": "CloudEvents Sequence: the aggregate's sequence number per topic, 1, 2,"
            f" 3 ... without gaps, zero-padded to {ce.SEQUENCE_WIDTH} digits (older events:"
            " unpadded); parse as a decimal integer.",
        },
        ce.H_DATASCHEMA: {
            **string,
            "description": "$id of the event type's JSON Schema: urn:ikm:contract:<Event>:v<N>.",
        },
        ce.H_HASHCANON: {
            "const": "rfc8785",
            "description": "ce_hash is over RFC 8785 canonical JSON; absent on older events.",
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


def _topic_channel(topic: str, service: str, names: list[str]) -> Schema:
    return {
        "address": topic,
        "title": topic,
        "description": f"Published by the {service} service; Kafka key = aggregate id.",
        "messages": {n: {"$ref": f"#/components/messages/{n}"} for n in names},
    }


def _publish_operation(topic: str, service: str, names: list[str]) -> Schema:
    channel_id = _channel_id(topic)
    return {
        "action": "send",
        "title": f"{service} publishes on {topic}",
        "channel": {"$ref": f"#/channels/{channel_id}"},
        "messages": [{"$ref": f"#/channels/{channel_id}/messages/{n}"} for n in names],
    }


def _event_message(name: str) -> Schema:
    model = EVENTS_BY_NAME[name]
    return {
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


def _asyncapi_header() -> Schema:
    """Everything in the document that does not depend on the catalog."""
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
    }


def asyncapi_document() -> Schema:
    """One AsyncAPI 3.0 document: a channel per topic, a message per event type."""
    channels: Schema = {}
    operations: Schema = {}
    messages: Schema = {}
    for topic in all_topics():
        channel_id = _channel_id(topic)
        service = topic.split(".")[1]
        names = sorted(m.__name__ for m in events_on(topic))
        channels[channel_id] = _topic_channel(topic, service, names)
        operations[f"{service}_publishes_{channel_id}"] = _publish_operation(topic, service, names)
        for name in names:
            messages[name] = _event_message(name)
    return {
        **_asyncapi_header(),
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
