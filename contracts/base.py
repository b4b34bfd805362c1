"""Base class for every domain event and the markers that travel with it.

Every event is a frozen pydantic v2 model. On the wire the model's JSON is the
CloudEvent ``data``; the envelope attributes (id, type, source, time, subject,
region, sequence, hash) travel as Kafka headers (CloudEvents 1.0 Kafka binary
binding, see ``contracts/envelope.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

CE_TYPE_PREFIX = "id.go.kemenperin.ikm."

PERSONAL_DATA_MARK = "x-personal-data"
"""JSON-schema key set on every field that carries personal data (UU PDP, Law 27/2022)."""

PersonalStr = Annotated[str, Field(json_schema_extra={PERSONAL_DATA_MARK: True})]
"""A string holding personal data: masked in logs and audit reports."""


class Event(BaseModel):
    """A fact that happened, published by exactly one service.

    Subclasses set:
    - ``TOPIC``: the versioned topic the event is published on;
    - ``AGGREGATE_FIELD``: the field whose value is the aggregate id (Kafka key, ``ce_subject``);
    - ``REGION_FIELD``: the field holding the province code, when the event concerns one.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    TOPIC: ClassVar[str]
    AGGREGATE_FIELD: ClassVar[str]
    REGION_FIELD: ClassVar[str | None] = None
    VERSION: ClassVar[int] = 1

    @classmethod
    def ce_type(cls) -> str:
        return f"{CE_TYPE_PREFIX}{cls.__name__}.v{cls.VERSION}"

    @classmethod
    def concerns_enterprise(cls, data: Mapping[str, Any], nib: str) -> bool:
        """Whether an event of this type, given as its JSON ``data``, is about enterprise ``nib``
        (beyond being its aggregate): by default when its ``nib`` field says so. An event that
        names the enterprise another way says how, so tools reading the log (``ikm audit
        --nib``) need not know each contract's formats."""
        return data.get("nib") == nib

    def aggregate_id(self) -> str:
        return str(getattr(self, self.AGGREGATE_FIELD))

    def region(self) -> str | None:
        if self.REGION_FIELD is None:
            return None
        value: Any = getattr(self, self.REGION_FIELD)
        return None if value is None else str(value)


# BaseModel's own slots, set through their descriptors as ``model_construct`` sets them:
# ``object.__setattr__`` looks the same descriptors up at each call, which costs as much as
# validating a small model (``OwnerContact``: ~0.9 µs that way, ~0.5 this way, ~0.9 validated).
_SET_DICT = BaseModel.__dict__["__dict__"].__set__
_SET_FIELDS_SET = BaseModel.__dict__["__pydantic_fields_set__"].__set__
_SET_EXTRA = BaseModel.__dict__["__pydantic_extra__"].__set__
_SET_PRIVATE = BaseModel.__dict__["__pydantic_private__"].__set__


def as_validated[M: BaseModel](cls: type[M], values: dict[str, Any], fields_set: set[str]) -> M:
    """The model ``cls`` validation would build from values it keeps as they are: ``values``
    holds every field, in the model's order, each already of its field's type (checked by the
    caller), and ``cls`` has no validators, extras or private attributes that would change
    them. ``fields_set``: the fields given (``model_fields_set``), kept as it is (a set of
    the caller's own, not one it shares).

    For hot paths that hold values a validation already produced (a decoded envelope's
    attributes, notifications built from validated events, a registration built from
    validated facts): validating again only copies them, at several times the cost. Each
    caller's tests compare its result with validation (fields, their order,
    ``model_fields_set``, dumps); anything it cannot vouch for goes through validation
    instead. The one place that knows pydantic's slots."""
    made: M = object.__new__(cls)
    _SET_DICT(made, values)
    _SET_FIELDS_SET(made, fields_set)
    _SET_EXTRA(made, None)
    _SET_PRIVATE(made, None)
    return made
