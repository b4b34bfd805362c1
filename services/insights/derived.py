"""Dimension values read from other cells instead of stored. Of ``participants.enrolled``:
``course:<course>`` holds the sum of that course's ``course_country:<course>/<country>``
cells (every participant has a country, ISO 3166 alpha-2: no ``/`` in it), and
``course_province:<course>/<p>`` that sum in province ``p`` (cells are keyed by province: an
enrollment adds to all three, in its participant's province or ``-``). So enrollments write
neither (two upserts less per enrollment; docs/performance.md, "Insights consumers") and
every read of ``counts`` grouped here answers as if they were stored.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any

from ikmkit.store import Range, Transaction
from ikmkit.store.port import GroupRow
from services.insights.domain.tally import CELL_FIELDS


def _course(value: str, province: str) -> str:
    return value.rsplit("/", 1)[0]


def _course_province(value: str, province: str) -> str:
    return f"{value.rsplit('/', 1)[0]}/{province}"


# indicator -> {derived dimension: (the dimension whose cells hold it, its value from a
# source cell's value and province)}
DERIVED: dict[str, dict[str, tuple[str, Callable[[str, str], str]]]] = {
    "participants.enrolled": {
        "course": ("course_country", _course),
        "course_province": ("course_country", _course_province),
    }
}

DROPPED = [
    {"indicator": indicator, "dimension": Range(gte=f"{name}:", lt=f"{name};")}
    for indicator, names in DERIVED.items()
    for name in names
]
"""The derived cells a store written before may still hold (``Counters.dropped``)."""


async def group_counts(
    tx: Transaction, collection: str, by: Sequence[str], where: dict[str, Any]
) -> list[GroupRow]:
    """``tx.group(collection, by, where, sums=["value"])`` on ``counts``, the derived
    dimension values included where ``where["dimension"]`` selects them."""
    found = await tx.group(collection, by, where, sums=["value"])
    dimension = where.get("dimension")
    for name, (source, value_of) in DERIVED.get(where.get("indicator", ""), {}).items():
        if dimension is not None and dimension != "-":
            found += await _derived(tx, collection, by, where, name, source, value_of)
    return found


async def _derived(
    tx: Transaction,
    collection: str,
    by: Sequence[str],
    where: dict[str, Any],
    name: str,
    source: str,
    value_of: Callable[[str, str], str],
) -> list[GroupRow]:
    """The ``name`` values ``where`` selects, from the ``source`` cells by province: each
    derived cell summed, then, as stored counters at 0 are deleted, only those not at 0."""
    wanted = where["dimension"]
    courses = _source_filter(wanted, f"{name}:", f"{source}:")
    if courses is None:
        return []
    fields = list(dict.fromkeys([*by, *CELL_FIELDS]))
    rows = await tx.group(collection, fields, {**where, "dimension": courses}, sums=["value"])
    cells: dict[tuple[Any, ...], int] = defaultdict(int)
    for row in rows:
        value = row.key["dimension"][len(source) + 1 :]
        derived = f"{name}:{value_of(value, row.key['province'])}"
        if _selects(wanted, derived):
            key = {**row.key, "dimension": derived}
            cells[tuple(key[f] for f in fields)] += int(row.sums["value"])
    sums: dict[tuple[Any, ...], list[int]] = defaultdict(lambda: [0, 0])
    for cell, total in cells.items():
        if total:
            summed = sums[cell[: len(by)]]
            summed[0] += 1
            summed[1] += total
    return [
        GroupRow(key=dict(zip(by, key, strict=True)), count=count, sums={"value": total})
        for key, (count, total) in sums.items()
    ]


def _source_filter(wanted: Any, prefix: str, source: str) -> Any:
    """A filter of the source cells holding at least every derived value ``wanted`` selects
    (a derived value starts with its course, known up to the first ``/`` of the text after
    ``prefix``; a source value too), or None."""
    if isinstance(wanted, str):
        text = wanted.removeprefix(prefix) if wanted.startswith(prefix) else None
    elif isinstance(wanted, Range):
        if (wanted.lt is not None and wanted.lt <= prefix) or (
            wanted.gte is not None and wanted.gte >= prefix[:-1] + ";"
        ):
            return None
        gte = wanted.gte or ""
        text = gte.removeprefix(prefix) if gte.startswith(prefix) else ""
    else:
        return None
    if text is None:
        return None
    course = text.split("/")[0]
    if not course:  # every course: the whole dimension (a code may sort after "\uffff")
        return Range(gte=source, lt=f"{source[:-1]};")
    return Range(gte=f"{source}{course}", lt=f"{source}{course}\uffff")


def _selects(wanted: Any, value: str) -> bool:
    if isinstance(wanted, str):
        return wanted == value
    return (wanted.gte is None or wanted.gte <= value) and (wanted.lt is None or value < wanted.lt)
