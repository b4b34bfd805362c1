"""Attributes written into a recording SDK span without the SDK cleaning each one again.

``Span.set_attributes`` validates every key, cleans every value (type checks, sequences
copied, strings cut to ``OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT``) and takes two locks: ~40 % of a
messaging span's cost with an exporter configured (the consumer's 11 attributes, the relay's
5 + 2). The messaging spans' attributes are built here from strings and ints only, which the
SDK stores as they are when no value length limit is set and the span has room; then they
are put in its attribute map directly. Anything else (a limit set, a full map, a key already
there, an ended span, a span or map not of the SDK's shape) goes through ``set_attributes``,
so what an exporter receives is the same (``tests/unit/test_span_attributes_fast.py``).
"""

from __future__ import annotations

from collections.abc import Mapping

from opentelemetry import trace
from opentelemetry.attributes import BoundedAttributes

CleanAttributes = Mapping[str, str | int]
"""Non-empty string keys; ``str`` or ``int`` values (never ``bool``, never sequences)."""


def set_clean_attributes(span: trace.Span, attributes: CleanAttributes) -> None:
    """``span.set_attributes(attributes)``, for attributes of the :data:`CleanAttributes` kind."""
    held = getattr(span, "_attributes", None)
    if type(held) is BoundedAttributes and _takes_as_they_are(span, held, attributes):
        with held._lock:  # the SDK's own lock for its attribute map
            held._dict.update(attributes)
        return
    span.set_attributes(attributes)


def _takes_as_they_are(span: trace.Span, held: BoundedAttributes, new: CleanAttributes) -> bool:
    store = getattr(held, "_dict", None)
    return (
        isinstance(store, dict)
        and held.max_value_len is None
        and held.maxlen is not None
        and len(store) + len(new) <= held.maxlen
        and getattr(held, "_immutable", True) is False
        and getattr(span, "_end_time", 0) is None
        and store.keys().isdisjoint(new)
    )
