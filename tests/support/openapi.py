"""Reading the five services' OpenAPI documents: what a client is told, counted.

``python -m tests.support.openapi`` prints, per service and in all, how many properties of the
documented models carry a constraint (pattern, length, format, enum, range, item count) and
which 2xx JSON responses have no typed body; the same counting backs
``tests/unit/test_openapi_contract.py``, so the figure in a report can be reproduced.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

os.environ.setdefault("IKM_ENV", "development")

Schema = dict[str, Any]

CONSTRAINTS = frozenset(
    {
        "pattern",
        "minLength",
        "maxLength",
        "format",
        "enum",
        "const",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "minItems",
        "maxItems",
        "maxProperties",
    }
)
# FastAPI's own error models: the error body is ikmkit.service.http's, not a service's model.
FRAMEWORK_SCHEMAS = frozenset({"HTTPValidationError", "ValidationError"})
SERVICES = ("registry", "subsidy", "training", "notify", "insights")


def definitions() -> dict[str, Callable[[], Any]]:
    from services.insights.main import definition as insights
    from services.notify.main import definition as notify
    from services.registry.main import definition as registry
    from services.subsidy.main import definition as subsidy
    from services.training.main import definition as training

    return {
        "registry": registry,
        "subsidy": subsidy,
        "training": training,
        "notify": notify,
        "insights": insights,
    }


def openapi(service: str) -> Schema:
    from ikmkit.service.runtime import create_service_app

    document: Schema = create_service_app(definitions()[service]()).openapi()
    return document


def resolve(document: Schema, schema: Schema) -> Schema:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = {
            **document["components"]["schemas"][name],
            **{k: v for k, v in schema.items() if k != "$ref"},
        }
    return schema


def options(document: Schema, schema: Schema) -> list[Schema]:
    """The non-null alternatives of a schema (``X | None`` is ``anyOf: [X, null]``)."""
    schema = resolve(document, schema)
    alternatives = schema.get("anyOf") or schema.get("oneOf")
    if not alternatives:
        return [schema]
    found = [o for a in alternatives for o in options(document, a)]
    return [o for o in found if o.get("type") != "null"]


def _structural(option: Schema) -> bool:
    """A nested model or a boolean: nothing a constraint could say about the value itself."""
    return option.get("type") == "boolean" or (
        option.get("type") == "object" and "properties" in option
    )


@dataclass(frozen=True)
class Property:
    model: str
    name: str
    constrained: bool


def properties(document: Schema) -> Iterator[Property]:
    """Every property of every documented model whose value could carry a constraint."""
    for model, schema in document.get("components", {}).get("schemas", {}).items():
        if model in FRAMEWORK_SCHEMAS:
            continue
        for name, field in schema.get("properties", {}).items():
            found = options(document, field)
            if all(_structural(o) for o in found):
                continue
            yield Property(model, name, any(CONSTRAINTS & o.keys() for o in found))


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if "$ref" in node:
            yield node["$ref"].rsplit("/", 1)[-1]
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def request_models(document: Schema) -> set[str]:
    """The models a client sends (request bodies, and every model they contain)."""
    models = document.get("components", {}).get("schemas", {})
    bodies = [
        operation.get("requestBody", {})
        for operations in document["paths"].values()
        for operation in operations.values()
    ]
    found: set[str] = set()
    waiting = list(_refs(bodies))
    while waiting:
        name = waiting.pop()
        if name not in found:
            found.add(name)
            waiting += _refs(models[name])
    return found


RULED_NAMES = frozenset(
    {
        "nib",
        "owner_nik",
        "province",
        "regency",
        "kbli",
        "from_kbli",
        "to_kbli",
        "country",
        "eligible_countries",
        "email",
        "owner_email",
        "contact_email",
        "mentor_email",
    }
)
"""Fields holding a shared value (``contracts.values``): their rule is a pattern or format."""
RULE_KEYWORDS = frozenset({"pattern", "format", "enum"})


def ruled_fields(document: Schema) -> Iterator[tuple[str, bool]]:
    """(``Model.field``, whether it documents its rule) for each shared-value field."""
    for model, schema in document.get("components", {}).get("schemas", {}).items():
        for name, field in schema.get("properties", {}).items():
            if name not in RULED_NAMES:
                continue
            found = options(document, field)
            found += [resolve(document, o["items"]) for o in found if "items" in o]
            yield f"{model}.{name}", any(RULE_KEYWORDS & o.keys() for o in found)


def constraint_count(document: Schema) -> tuple[int, int]:
    """(constrained properties, properties) of one document."""
    every = list(properties(document))
    return sum(p.constrained for p in every), len(every)


def json_responses(document: Schema) -> Iterator[tuple[str, Schema]]:
    """Each 2xx ``application/json`` response body: (``METHOD /path status``, schema)."""
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for code, response in operation.get("responses", {}).items():
                media = response.get("content", {}).get("application/json")
                if code.startswith("2") and media is not None:
                    yield f"{method.upper()} {path} {code}", media.get("schema", {})


def untyped(document: Schema, schema: Schema) -> bool:
    """No shape a client can rely on: an empty schema, or an object with neither properties
    nor a schema for its values (``additionalProperties: true``)."""
    schema = resolve(document, schema)
    alternatives = schema.get("anyOf") or schema.get("oneOf")
    if alternatives:
        return any(untyped(document, a) for a in alternatives if a.get("type") != "null")
    if schema.get("type") is None:
        return True
    if schema.get("type") != "object" or schema.get("properties"):
        return False
    return not isinstance(schema.get("additionalProperties"), dict)


def untyped_responses(document: Schema) -> list[str]:
    return [where for where, schema in json_responses(document) if untyped(document, schema)]


def request_count(document: Schema) -> tuple[int, int]:
    """(constrained properties, properties) of the models a client sends."""
    sent = request_models(document)
    every = [p for p in properties(document) if p.model in sent]
    return sum(p.constrained for p in every), len(every)


def report() -> str:
    lines, constrained, total, responses, loose = [], 0, 0, 0, 0
    sent_constrained, sent_total, ruled_documented, ruled_total = 0, 0, 0, 0
    for service in SERVICES:
        document = openapi(service)
        some, every = constraint_count(document)
        sent_some, sent_every = request_count(document)
        sent_constrained, sent_total = sent_constrained + sent_some, sent_total + sent_every
        ruled = list(ruled_fields(document))
        documented = sum(ok for _, ok in ruled)
        ruled_documented, ruled_total = ruled_documented + documented, ruled_total + len(ruled)
        lines.append(f"{service}: requests {sent_some}/{sent_every} properties constrained")
        lines.append(f"{service}: shared-value fields {documented}/{len(ruled)} with their rule")
        lines += [f"  no rule: {where}" for where, ok in ruled if not ok]
        bodies = list(json_responses(document))
        bare = untyped_responses(document)
        constrained, total = constrained + some, total + every
        responses, loose = responses + len(bodies), loose + len(bare)
        lines.append(
            f"{service}: {some}/{every} properties constrained; "
            f"{len(bare)}/{len(bodies)} 2xx JSON responses untyped"
        )
        lines += [f"  untyped: {where}" for where in bare]
    lines.append(f"all: requests {sent_constrained}/{sent_total} properties constrained")
    lines.append(f"all: shared-value fields {ruled_documented}/{ruled_total} with their rule")
    lines.append(
        f"all: {constrained}/{total} properties constrained; "
        f"{loose}/{responses} 2xx JSON responses untyped"
    )
    return "\n".join(lines)


if __name__ == "__main__":
    print(report())
