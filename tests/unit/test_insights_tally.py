"""``Tally``: the order its cells are written in, and the bench generator's projection of
enterprises against the handler path."""

from __future__ import annotations

import random
from datetime import date

from services.insights.domain.tally import Cell, Tally


def test_cells_come_out_in_cell_order_without_the_zero_deltas() -> None:
    tally = Tally()
    rng = random.Random(3)
    for _ in range(400):
        tally.add(
            rng.choice(["b.x", "a.y", "a.x"]),
            date(rng.choice([2025, 2026]), rng.randint(1, 12), 1),
            rng.choice(["32", "11", None]),
            rng.choice(["3273", None]),
            amount=rng.choice([1, -1, 2]),
            dimensions={"kind": rng.choice(["webinar", "vocational", None])},
        )
    cells = [cell for cell, _ in tally]
    assert cells == sorted(c for c, d in tally.deltas.items() if d != 0)
    assert all(isinstance(c, Cell) and tally.deltas[c] != 0 for c in cells)


async def test_the_bench_generator_writes_what_the_handlers_write() -> None:
    from bench._insights_enterprises import Enterprises, check_against_handlers

    assert await check_against_handlers(Enterprises.generate(300, seed=5)) > 300
