"""The compatibility rules of a published event schema (the gate of ``contracts.generate``).

On a published topic only optional fields may be added; removing or renaming a field, changing
its type, format, set of enum values, nullability or default, making an optional field
required (or the reverse), adding a required field, unmarking personal data, dropping an
event type or changing its version, aggregate or region field is a breaking change and needs
a new ``.v<N+1>`` topic (docs/contracts.md).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from contracts.schema import Schema


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
    # the allowed values as a set: their order changes nothing for a consumer
    values = None if enum is None else tuple(sorted(enum, key=json.dumps))
    return _Shape("scalar", kind == "null", (kind, node.get("format"), values), node)


def _describe(shape: _Shape) -> str:
    if shape.kind != "scalar":
        return shape.kind
    kind, fmt, enum = shape.scalar
    text = str(kind) + (f" ({fmt})" if fmt else "")
    return text + (f" one of {list(enum)}" if enum is not None else "")


class _SchemaComparison:
    """One walk over an old and a new schema of an event, collecting what breaks."""

    def __init__(self, event: str, old: Schema, new: Schema) -> None:
        self.event = event
        self.old_defs, self.new_defs = old.get("$defs", {}), new.get("$defs", {})
        self.problems: list[Breaking] = []

    def report(self, path: str, rule: str, detail: str) -> None:
        self.problems.append(Breaking(self.event, path, rule, detail))

    def compare(self, old_node: Schema, new_node: Schema, path: str) -> None:
        before, after = _shape(old_node, self.old_defs), _shape(new_node, self.new_defs)
        if before.kind != after.kind or (before.kind == "union" and before.scalar != after.scalar):
            self.report(
                path, "type_changed", f"type changed from {_describe(before)} to {_describe(after)}"
            )
            return
        if before.nullable != after.nullable:
            self.report(
                path,
                "nullability_changed",
                "may now be null" if after.nullable else "may no longer be null",
            )
        if before.kind == "scalar":
            self.compare_scalars(before, after, path)
        elif before.kind in ("array", "map"):
            self.compare(
                before.node, after.node, f"{path}[]" if before.kind == "array" else f"{path}{{}}"
            )
        elif before.kind == "object":
            self.compare_objects(before.node, after.node, path)

    def compare_scalars(self, before: _Shape, after: _Shape, path: str) -> None:
        # scalar is (type, format, enum): type or format differ before the allowed values matter
        if before.scalar[:2] != after.scalar[:2]:
            self.report(
                path,
                "type_changed",
                f"type changed from {_describe(before)} to {_describe(after)}",
            )
        elif before.scalar[2] != after.scalar[2]:
            self.report(
                path,
                "enum_changed",
                f"allowed values changed from {_describe(before)} to {_describe(after)}",
            )

    def compare_objects(self, old_obj: Schema, new_obj: Schema, prefix: str) -> None:
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
                self.report(path, "field_removed", f"removed or renamed{hint}")
                continue
            if name in new_required and name not in old_required:
                self.report(path, "optional_became_required", "optional field became required")
            elif name in old_required and name not in new_required:
                self.report(path, "required_became_optional", "required field became optional")
            elif old_prop.get("default", _NONE) != new_props[name].get("default", _NONE):
                # events written before the field was added are read with the default
                before, after = (
                    old_prop.get("default", _NONE),
                    new_props[name].get("default", _NONE),
                )
                self.report(
                    path, "default_changed", f"default changed from {before!r} to {after!r}"
                )
            self.compare(old_prop, new_props[name], path)
        for name in added:
            if name in new_required:
                path = f"{prefix}.{name}" if prefix else name
                self.report(
                    path, "required_field_added", "new field is required (add it as optional)"
                )

    def compare_routing(self, old: Schema, new: Schema) -> None:
        # ce_type carries the VERSION: raised in place, old consumers dead-letter every new
        # event and the log's history has no contract left. A region field may be added
        # (events gain a ce_region), not moved or dropped: regional systems route by it.
        for key in ("x-topic", "x-aggregate-field", "x-region-field"):
            before, after = old.get(key), new.get(key)
            if before != after and not (key == "x-region-field" and before is None):
                self.report("", "routing_changed", f"{key} changed from {before!r} to {after!r}")
        before, after = _version(old), _version(new)  # the event's name is the schemas' key
        if before != after:
            self.report("", "routing_changed", f"x-cloudevents-type version {before} -> {after}")

    def compare_personal_data(self, old: Schema, new: Schema) -> None:
        """A field still there but no longer marked would be printed in full by audit
        reports, trails and logs, which mask by the mark."""
        removed = [p.field for p in self.problems if p.rule == "field_removed"]
        kept = set(new.get("x-personal-data-fields", []))
        for path in old.get("x-personal-data-fields", []):
            if path not in kept and not any(_within(path, gone) for gone in removed):
                self.report(path, "personal_data_unmarked", "no longer marked personal data")


_NONE = object()
"""A property without a default (None is a default)."""


def _version(schema: Schema) -> str:
    """``v1`` of ``id.go.kemenperin.ikm.EnterpriseRegistered.v1``."""
    return str(schema.get("x-cloudevents-type", "")).rpartition(".")[2]


def _within(path: str, field: str) -> bool:
    return path == field or path.startswith((f"{field}.", f"{field}[", f"{field}{{"))


def compare_schemas(event: str, old: Schema, new: Schema) -> list[Breaking]:
    """Breaking changes between a published and a current schema of one event."""
    comparison = _SchemaComparison(event, old, new)
    comparison.compare_objects(old, new, "")
    comparison.compare_routing(old, new)
    comparison.compare_personal_data(old, new)
    return comparison.problems


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
