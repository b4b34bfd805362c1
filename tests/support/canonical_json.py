"""Hypothesis strategies for JSON values and the ways of writing one (JCS, near misses)."""

from __future__ import annotations

import contextlib
import json
from typing import Any

import rfc8785
from hypothesis import strategies as st

TEXT = st.text(
    st.characters(codec=None, exclude_categories=["Cs"])
    | st.sampled_from(["\x00", "\x1f", "\x7f", '"', "\\", "/", "\u2028", "\ue000", "\U0001f600"])
)


NUMBER = (
    st.integers(min_value=-(2**60), max_value=2**60)
    | st.sampled_from([2**53 - 1, 2**53, -(2**53) + 1, -(2**53), 10**21, 0])
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from([1.0, -0.0, 1e21, 1e-7, 5e-324, 100.0, 0.1])
)

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | TEXT | NUMBER,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=5),
    max_leaves=14,
)


def writings(value: Any) -> list[bytes]:
    """The value written as JCS and as a few near misses."""
    found = []
    with contextlib.suppress(ValueError, rfc8785.CanonicalizationError):
        found.append(rfc8785.dumps(value))
    for options in (
        {"sort_keys": True, "separators": (",", ":"), "ensure_ascii": False},
        {"sort_keys": False, "separators": (",", ":"), "ensure_ascii": False},
        {"sort_keys": True, "separators": (",", ":"), "ensure_ascii": True},
        {"sort_keys": True, "indent": 1, "ensure_ascii": False},
    ):
        found.append(json.dumps(value, **options).encode("utf-8", "surrogatepass"))
    return found
