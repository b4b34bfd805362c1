"""CSV files people open in a spreadsheet: a text cell that begins like a formula is written
with a leading apostrophe, so the spreadsheet shows it as text instead of evaluating it.

The values in the platform's CSV reports come from outside: an officer's own import file
(the rows it refused), the content of events on the log (an audit's findings name the
subject of a forged event). A cell such as ``=HYPERLINK("https://...")`` or ``@SUM(...)``
would otherwise run when an auditor or officer opens the report (OWASP "CSV injection").
Numbers are left as they are; the JSON forms of the same reports keep every value exact.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")


def cell(value: Any) -> Any:
    """``value`` as a spreadsheet shows it: text beginning like a formula gets a ``'``."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def row(values: Iterable[Any]) -> list[Any]:
    return [cell(v) for v in values]


def record(values: Mapping[str, Any]) -> dict[str, Any]:
    return {k: cell(v) for k, v in values.items()}
