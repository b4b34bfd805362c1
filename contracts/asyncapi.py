"""The AsyncAPI 3.0 documents of the platform's events, built from the catalog.

``asyncapi_document()`` is the platform's (every topic, ``send`` by its owner); with
``service=`` it is that service's: the topics it publishes, and, for each consumer group it
runs (``ConsumerGroup``: the group and the topics it follows, as its ``EventConsumer``
reports them), a ``receive`` operation per topic and the group's dead-letter channels
``<topic>.dlq.<group>``, which the service itself writes. Each service serves its own
document at ``/asyncapi.json`` (``ikmkit.service.asyncapi_routes``).

Only the catalog and the standard library are used: this module ships with ``contracts``
(an integrator's system may build the document without the platform's code).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from contracts import envelope as ce
from contracts.base import PERSONAL_DATA_MARK
from contracts.catalog import EVENTS_BY_NAME, TOPIC_OWNERS, all_topics, events_on
from contracts.schema import Schema, personal_data_paths
from contracts.topics import dead_letter_topic

ASYNCAPI_VERSION = "3.0.0"
KAFKA_BINDING_VERSION = "0.5.0"
DEAD_LETTER = "DeadLetter"

DEAD_LETTER_HEADERS: dict[str, str] = {
    "dlq_reason": "Why: a stable code, e.g. missing_header, malformed_json, "
    "unknown_event_type, contract_violation, forged, unprocessable, sequence_gap, "
    "retries_exhausted.",
    "dlq_error": "The error text, first 4000 characters.",
    "dlq_attempts": "How many times the group tried the record (decimal).",
    "dlq_consumer_group": "The consumer group that parked it.",
    "dlq_original_topic": "The topic the record was read from.",
    "dlq_original_partition": "Its partition (decimal).",
    "dlq_original_offset": "Its offset (decimal): the original bytes stay there until retention.",
    "dlq_failed_at": "When it was parked (ISO 8601, UTC).",
    "dlq_truncated": "'true' when the copy is truncated (the whole one was refused).",
    "dlq_truncated_because": "Why the whole copy was refused.",
    "dlq_truncated_headers": "How many original headers were dropped to fit.",
    "dlq_original_size": "The original value's size in bytes (truncated copies).",
    "dlq_original_sha256": "The original value's SHA-256, hex (truncated copies).",
}
"""The headers a dead letter adds to the original record's (``ikmkit.messaging.deadletter``;
a unit test keeps the two lists equal)."""

_ALWAYS = ("dlq_reason", "dlq_error", "dlq_attempts", "dlq_consumer_group")
_ORIGIN = ("dlq_original_topic", "dlq_original_partition", "dlq_original_offset")


@dataclass(frozen=True)
class ConsumerGroup:
    """A consumer group a service runs and the topics it follows."""

    group: str
    topics: tuple[str, ...]


def channel_id(topic: str) -> str:
    return topic.replace(".", "_")


def _ref(*path: str) -> dict[str, str]:
    return {"$ref": "#/" + "/".join(path)}


# --------------------------------------------------------------------------- headers


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
        ce.H_PREVHASH: {
            **string,
            "pattern": "^[0-9a-f]{64}$",
            "description": "The ce_hash of the aggregate's previous event on the topic (64 zeros "
            "for the first), so ce_hash is recomputable from this event alone; absent on "
            "events written before 2026-12. See docs/contracts.md.",
        },
        ce.H_SIGNATURE: {
            **string,
            "description": "Optional Ed25519 signature (base64) by the source of ce_prevhash + "
            "ce_hash (128 ASCII hex characters), or of ce_hash alone on events without "
            "ce_prevhash.",
        },
        ce.H_CONTENT_TYPE: {"const": ce.CONTENT_TYPE},
        ce.H_TRACEPARENT: {**string, "description": "W3C trace context."},
    }


def dead_letter_headers_schema() -> Schema:
    return {
        "type": "object",
        "description": "The original record's headers (the CloudEvents ce_* ones, as they "
        "were; a truncated copy cuts each to 1024 bytes) plus these dlq_* headers.",
        "required": [*_ALWAYS, *_ORIGIN, "dlq_failed_at"],
        "properties": {
            name: {"type": "string", "description": text}
            for name, text in DEAD_LETTER_HEADERS.items()
        },
        "additionalProperties": True,
    }


# --------------------------------------------------------------------------- messages


def _hoisted_schemas(names: Iterable[str]) -> dict[str, Schema]:
    """The events' schemas with nested models moved to ``components/schemas``."""
    schemas: dict[str, Schema] = {}
    for name in sorted(names):
        model = EVENTS_BY_NAME[name]
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        for def_name, definition in schema.pop("$defs", {}).items():
            if schemas.get(def_name, definition) != definition:
                raise ValueError(f"two different nested models are both named {def_name!r}")
            schemas[def_name] = definition
        schema["x-personal-data-fields"] = personal_data_paths(model.model_json_schema())
        schemas[name] = schema
    return schemas


def _kafka_key() -> Schema:
    return {"kafka": {"key": {"type": "string"}, "bindingVersion": KAFKA_BINDING_VERSION}}


def _first_paragraph(text: str) -> str:
    return " ".join(text.strip().split("\n\n")[0].split())


def _event_message(name: str) -> Schema:
    model = EVENTS_BY_NAME[name]
    return {
        "name": name,
        "title": name,
        "summary": _first_paragraph(model.__doc__ or name),
        "contentType": ce.CONTENT_TYPE,
        "headers": _ref("components", "schemas", "CloudEventsHeaders"),
        "payload": _ref("components", "schemas", name),
        "bindings": _kafka_key(),
        "x-cloudevents-type": model.ce_type(),
        "x-aggregate-field": model.AGGREGATE_FIELD,
    }


def _dead_letter_message() -> Schema:
    return {
        "name": DEAD_LETTER,
        "title": "Dead letter",
        "summary": "A record a consumer group could not process, parked with the reason.",
        "description": "Key and value are the original record's, byte for byte; a copy too "
        "large to publish keeps the first 64 KiB of the value (dlq_truncated), or, refused "
        "again, only the dlq_* headers. Replay with `ikm dlq` after fixing the cause.",
        "headers": _ref("components", "schemas", "DeadLetterHeaders"),
        "payload": {"description": "The original record's value (normally an event's JSON)."},
        "bindings": _kafka_key(),
    }


# --------------------------------------------------------------------------- servers


def _servers() -> Schema:
    scram = [_ref("components", "securitySchemes", "scramSha512")]
    bootstrap = "ikm-kafka-bootstrap.kafka.svc:9092"
    return {
        "development": {
            "host": "localhost:9092",
            "pathname": "",
            "protocol": "kafka",
            "description": "The embedded broker of `make run` and compose: plaintext, "
            "no authentication (KAFKA_SECURITY_PROTOCOL=PLAINTEXT).",
        },
        "production": {
            "host": bootstrap,
            "pathname": "",
            "protocol": "kafka",
            "description": "Strimzi (deploy/k8s/external/strimzi-kafka.yaml): SASL/SCRAM-SHA-512"
            ", one KafkaUser per service whose ACLs let it write only its own topics "
            "(KAFKA_SECURITY_PROTOCOL=SASL_PLAINTEXT).",
            "security": scram,
        },
        "production-tls": {
            "host": bootstrap,
            "pathname": "",
            "protocol": "kafka-secure",
            "description": "The same listener with `tls: true`: SCRAM-SHA-512 over TLS, the "
            "cluster CA from the ikm-cluster-ca-cert Secret (KAFKA_SECURITY_PROTOCOL=SASL_SSL, "
            "KAFKA_SSL_CAFILE).",
            "security": scram,
        },
    }


def _security_schemes() -> Schema:
    return {
        "scramSha512": {
            "type": "scramSha512",
            "description": "SASL/SCRAM-SHA-512; user and password from the service's "
            "KafkaUser Secret (KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD).",
        }
    }


# --------------------------------------------------------------------------- the document


def _info(service: str | None) -> Schema:
    subject = f"the {service} service's" if service else "every"
    return {
        "title": f"IKM {service} service events" if service else "IKM platform events",
        "version": "1.0.0",
        "description": f"The topics of {subject} Kafka traffic on the Kemenperin IKM platform "
        "(generated from contracts/; do not edit: run `make contracts`). Fields marked "
        f"`{PERSONAL_DATA_MARK}: true` carry personal data (UU PDP, Law 27/2022).",
    }


class _Builder:
    def __init__(self) -> None:
        self.channels: Schema = {}
        self.operations: Schema = {}
        self.events: set[str] = set()

    def topic(self, topic: str) -> list[str]:
        names = sorted(m.__name__ for m in events_on(topic))
        owner = TOPIC_OWNERS.get(topic, "another")
        self.channels[channel_id(topic)] = {
            "address": topic,
            "title": topic,
            "description": f"Published by the {owner} service; Kafka key = aggregate id.",
            "messages": {n: _ref("components", "messages", n) for n in names},
        }
        self.events.update(names)
        return names

    def operation(self, key: str, action: str, title: str, topic: str, names: list[str]) -> Schema:
        cid = channel_id(topic)
        operation: Schema = {
            "action": action,
            "title": title,
            "channel": _ref("channels", cid),
            "messages": [_ref("channels", cid, "messages", n) for n in names],
        }
        self.operations[key] = operation
        return operation

    def send(self, topic: str) -> None:
        owner = TOPIC_OWNERS[topic]
        names = self.topic(topic)
        self.operation(
            f"{owner}_publishes_{channel_id(topic)}",
            "send",
            f"{owner} publishes on {topic}",
            topic,
            names,
        )

    def consumer(self, consumer: ConsumerGroup) -> None:
        group = consumer.group
        binding = {"groupId": {"type": "string", "enum": [group]}}
        for topic in sorted(consumer.topics):
            names = self.topic(topic) if topic in TOPIC_OWNERS else []
            if channel_id(topic) not in self.channels:  # not a contract topic
                self.channels[channel_id(topic)] = {"address": topic, "messages": {}}
            receive = self.operation(
                f"{group}_receives_{channel_id(topic)}",
                "receive",
                f"consumer group {group} reads {topic}",
                topic,
                names,
            )
            receive["bindings"] = {"kafka": {**binding, "bindingVersion": KAFKA_BINDING_VERSION}}
            receive["x-consumer-group"] = group
            self.dead_letters(topic, group)

    def dead_letters(self, topic: str, group: str) -> None:
        dlq = dead_letter_topic(topic, group)
        self.channels[channel_id(dlq)] = {
            "address": dlq,
            "title": dlq,
            "description": f"Records of {topic} that consumer group {group} could not "
            "process, parked with the reason; written by that group.",
            "messages": {DEAD_LETTER: _ref("components", "messages", DEAD_LETTER)},
        }
        operation = self.operation(
            f"{group}_dead_letters_{channel_id(topic)}",
            "send",
            f"consumer group {group} parks what it cannot process from {topic}",
            dlq,
            [DEAD_LETTER],
        )
        operation["x-consumer-group"] = group


def asyncapi_document(
    service: str | None = None, consumers: Sequence[ConsumerGroup] = ()
) -> Schema:
    """The AsyncAPI 3.0 document of ``service`` (None: of every topic, sent by its owner)."""
    builder = _Builder()
    for topic in all_topics():
        if service is None or TOPIC_OWNERS[topic] == service:
            builder.send(topic)
    for consumer in consumers:
        builder.consumer(consumer)
    components: dict[str, Any] = {
        "messages": {n: _event_message(n) for n in sorted(builder.events)},
        "schemas": {
            "CloudEventsHeaders": cloudevents_headers_schema(),
            **_hoisted_schemas(builder.events),
        },
        "securitySchemes": _security_schemes(),
    }
    if consumers:
        components["messages"][DEAD_LETTER] = _dead_letter_message()
        components["schemas"]["DeadLetterHeaders"] = dead_letter_headers_schema()
    return {
        "asyncapi": ASYNCAPI_VERSION,
        "info": _info(service),
        "defaultContentType": ce.CONTENT_TYPE,
        "servers": _servers(),
        "channels": dict(sorted(builder.channels.items())),
        "operations": dict(sorted(builder.operations.items())),
        "components": components,
    }
