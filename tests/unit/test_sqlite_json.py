"""The SQLite adapter's fast JSON (orjson) stores the same values the standard encoder did."""

from __future__ import annotations

import json
import math

import pytest

from ikmkit.store.sqlite_sql import ENCODER, dumps, load

DOCS = [
    {"id": "a", "text": 'é ü 漢 \u2028 \x00 "q" \\', "list": [1, 2.5, None, True], "n": {"x": 1}},
    {"id": "big", "value": 2**70, "negative": -(2**65)},
    {"id": "floats", "f": 1e16, "g": 1e-7, "h": -0.0, "i": 123456789.123},
    {"id": "nan", "value": float("nan"), "inf": [float("inf")], "none": None},
]


@pytest.mark.parametrize("doc", DOCS, ids=[d["id"] for d in DOCS])
def test_dumps_stores_the_values_the_standard_encoder_stores(doc: dict[str, object]) -> None:
    ours, standard = load(dumps(doc)), json.loads(ENCODER.encode(doc))
    assert json.dumps(ours, sort_keys=True) == json.dumps(standard, sort_keys=True)


def test_a_non_finite_float_is_not_turned_into_null() -> None:
    again = load(dumps({"id": "x", "value": float("nan"), "inf": float("-inf")}))
    assert math.isnan(again["value"]) and again["inf"] == float("-inf")


def test_what_orjson_refuses_is_encoded_as_before() -> None:
    assert dumps({"id": "s", "text": "\ud800"}) == ENCODER.encode({"id": "s", "text": "\ud800"})
    assert dumps({1: "int key"}) == ENCODER.encode({1: "int key"})  # type: ignore[dict-item]
