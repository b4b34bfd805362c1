"""Dimension values read from other cells instead of stored: ``course_province:<course>/<p>``
of ``participants.enrolled`` holds what the ``course:<course>`` cell of province ``p`` holds
(cells are keyed by province: an enrollment adds to both, in its participant's province or
``-``), so enrollments do not write it (one upsert less per enrollment; docs/performance.md,
"Insights consumers") and every read of ``counts`` grouped here answers as if it were stored.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from ikmkit.store import Range, Transaction
from ikmkit.store.port import GroupRow

# indicator -> {derived dimension: the dimension whose cells, by province, hold its values}
DERIVED: dict[str, dict[str, str]] = {"participants.enrolled": {"course_province": "course"}}

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
    for name, source in DERIVED.get(where.get("indicator", ""), {}).items():
        if dimension is not None and dimension != "-":
            found += await _derived(tx, collection, by, where, name, source)
    return found


async def _derived(
    tx: Transaction,
    collection: str,
    by: Sequence[str],
    where: dict[str, Any],
    name: str,
    source: str,
) -> list[GroupRow]:
    """The ``name`` values ``where`` selects, from the ``source`` cells grouped by province."""
    wanted = where["dimension"]
    courses = _source_filter(wanted, f"{name}:", f"{source}:")
    if courses is None:
        return []
    fields = list(dict.fromkeys([*by, "dimension", "province"]))
    rows = await tx.group(collection, fields, {**where, "dimension": courses}, sums=["value"])
    sums: dict[tuple[Any, ...], list[int]] = defaultdict(lambda: [0, 0])
    for row in rows:
        value = row.key["dimension"][len(source) + 1 :]
        derived = f"{name}:{value}/{row.key['province']}"
        if _selects(wanted, derived):
            key = {**row.key, "dimension": derived}
            summed = sums[tuple(key[f] for f in by)]
            summed[0] += row.count
            summed[1] += int(row.sums["value"])
    return [
        GroupRow(key=dict(zip(by, key, strict=True)), count=count, sums={"value": total})
        for key, (count, total) in sums.items()
    ]


def _source_filter(wanted: Any, prefix: str, source: str) -> Any:
    """A filter of the source cells holding at least every derived value ``wanted`` selects
    (their course is known up to the first ``/`` of the text after ``prefix``), or None."""
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
    return Range(gte=f"{source}{course}", lt=f"{source}{course}\uffff")


def _selects(wanted: Any, value: str) -> bool:
    if isinstance(wanted, str):
        return wanted == value
    return (wanted.gte is None or wanted.gte <= value) and (wanted.lt is None or value < wanted.lt)
