"""``Idempotency-Key`` values (an RFC 8941 sf-string, or its characters unquoted) and the
request fingerprint a key is bound to (``ikmkit.service.idempotency``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import BaseModel

from ikmkit.auth import Caller
from ikmkit.clock import fixed_clock
from ikmkit.service.errors import InvalidInput
from ikmkit.service.idempotency import (
    COLLECTIONS,
    RETENTION,
    fingerprint,
    idempotent,
    parse_key,
    purge_expired_keys,
    record_id,
)
from ikmkit.unit_of_work import UnitOfWork
from tests.support.units import memory_units

T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)
UUID = "8e03978e-40d5-43e8-bc93-6894a57f9324"


@pytest.mark.parametrize(
    ("sent", "key"),
    [(f'"{UUID}"', UUID), (UUID, UUID), (f' "{UUID}" ', UUID), (r'"a\"b\\c"', 'a"b\\c')],
)
def test_a_key_is_an_sf_string_or_its_characters(sent: str, key: str) -> None:
    assert parse_key(sent) == key


@pytest.mark.parametrize(
    "sent", ['""', "", '"open', 'a"b', '"a"b"', r'"a\b"', "é", '"\t"', "x" * 256]
)
def test_a_malformed_key_is_refused(sent: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        parse_key(sent)
    assert (refused.value.field, refused.value.rule) == (
        "Idempotency-Key",
        "idempotency_key_format",
    )


class Body(BaseModel):
    name: str
    count: int = 1


def test_the_fingerprint_is_the_request_as_validated() -> None:
    same = Body.model_validate_json('{ "count": 1, "name": "x" }')
    assert fingerprint(Body(name="x")) == fingerprint(same)
    assert fingerprint(Body(name="x")) != fingerprint(Body(name="x", count=2))


def test_keys_are_the_callers_and_the_routes() -> None:
    ministry, service = Caller("a", "ministry"), Caller("b", "service")
    ids = {
        record_id("POST /partners", ministry, "k"),
        record_id("POST /partners", service, "k"),
        record_id("POST /mous", ministry, "k"),
    }
    assert len(ids) == 3


class Made(BaseModel):
    id: str
    name: str


async def test_a_key_answers_for_its_retention_then_is_purged() -> None:
    made: list[str] = []

    async def make(uow: UnitOfWork, body: Body, caller: Caller) -> Made:
        made.append(body.name)
        return Made(id=f"m-{len(made)}", name=body.name)

    run = idempotent(make, Made, "POST /things")
    caller = Caller("a", "ministry")
    async with memory_units(UnitOfWork, COLLECTIONS) as units:
        units.clock = fixed_clock(T0)
        first = await units.run(run, "k", Body(name="x"), caller)
        assert await units.run(run, "k", Body(name="x"), caller) == first
        with pytest.raises(InvalidInput) as reused:
            await units.run(run, "k", Body(name="y"), caller)
        assert reused.value.rule == "idempotency_key_reused"
        assert made == ["x"]
        assert await purge_expired_keys(units.store, T0 + RETENTION) == 0
        units.clock = fixed_clock(T0 + RETENTION)  # expired: the key starts again
        assert (await units.run(run, "k", Body(name="y"), caller)).id == "m-2"
        assert await purge_expired_keys(units.store, T0 + 2 * RETENTION + timedelta(1)) == 1
