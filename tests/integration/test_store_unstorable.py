"""The net under the door: a value no store can hold (a lone surrogate, an integer beyond
64 bits) is ``UnstorableValue`` (422 at the HTTP layer) from every adapter, never a driver
error (a 500), and the store stays usable."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from ikmkit.store import CollectionSpec, Store, Transaction, UnstorableValue

Operation = Callable[[Transaction], Awaitable[Any]]

CASES: dict[str, tuple[Operation, str]] = {
    "insert surrogate": (lambda u: u.insert("things", {"id": "a", "t": "\udcff"}), "surrogate"),
    "find surrogate": (lambda u: u.find("things", {"t": "x\ud800"}), "surrogate"),
    "find huge int": (lambda u: u.find("things", {"n": 2**63}), "64-bit"),
    "count huge int": (lambda u: u.count("things", {"n": -(2**70)}), "64-bit"),
}


@pytest.mark.parametrize("case", list(CASES))
async def test_unstorable_values_are_refused_by_every_store(fresh_store: Store, case: str) -> None:
    await fresh_store.open([CollectionSpec("things", indexes=[("n",), ("t",)])])
    operation, message = CASES[case]
    with pytest.raises(UnstorableValue, match=message):
        async with fresh_store.transaction() as uow:
            await operation(uow)
    async with fresh_store.transaction() as uow:
        await uow.insert("things", {"id": "b", "n": 1, "t": "ok"})
    async with fresh_store.transaction() as uow:
        assert (await uow.get("things", "b")) is not None
