"""RFC 9457 problem details: the one error format of every service.

Every error answer is ``application/problem+json``::

    {"type": "https://ikm.kemenperin.go.id/problems/invalid",
     "title": "Invalid input", "status": 422, "detail": "2 fields break a rule",
     "instance": "/enterprises", "rule": "invalid",
     "errors": [{"pointer": "#/owner_nik", "field": "owner_nik", "loc": ["body", "owner_nik"],
                 "rule": "invalid.nik_length", "type": ".../problems/invalid/nik_length",
                 "detail": "..."}]}

``type`` is a stable URI per rule (``type_uri``), ``rule`` the same rule as a short code. A 422
always has ``type`` ``.../invalid`` and lists every failing field in ``errors``; other problems
list the field they concern there when they name one. A body field is addressed by an
RFC 6901 ``pointer``, a query, path or header parameter by ``parameter`` and ``in``. No answer
repeats what the client sent: personal data in a request must not come back in an error (or
in whatever logs or caches keep error bodies). docs/errors.md lists every type.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any
from urllib.parse import quote

PROBLEM_BASE = "https://ikm.kemenperin.go.id/problems/"
MEDIA_TYPE = "application/problem+json"
SCHEMA_CATEGORY = "schema"
"""Type URIs of the request-schema rules pydantic checks (``string_too_long``, ``missing``...):
their rule codes carry no category of their own."""

CATEGORIES: dict[str, tuple[int, str]] = {
    "invalid": (422, "Invalid input"),
    SCHEMA_CATEGORY: (422, "Invalid input"),
    "unauthorized": (401, "Unauthorized"),
    "forbidden": (403, "Forbidden"),
    "not_found": (404, "Not found"),
    "conflict": (409, "Conflict"),
    "too_large": (413, "Request body too large"),
    "http": (0, "HTTP error"),  # routing and protocol errors; the status names the title
    "server": (500, "Internal server error"),
    "unavailable": (503, "Service unavailable"),
}
"""The first part of every rule code: its status and the problem's title."""

SAFE_CONTEXT = frozenset(
    {"ge", "gt", "le", "lt", "multiple_of", "min_length", "max_length", "pattern", "expected"}
    | {"max_digits", "decimal_places", "limit_bytes"}
)
"""Pydantic ``ctx`` keys that describe the rule, not the input (``error`` and the like may
quote the value sent)."""


def type_uri(rule: str) -> str:
    """The stable URI of a rule code: ``invalid.nib_format`` -> ``.../invalid/nib_format``;
    a pydantic code without a category (``int_parsing``) -> ``.../schema/int_parsing``."""
    if "." not in rule and rule not in CATEGORIES:
        rule = f"{SCHEMA_CATEGORY}.{rule}"
    return PROBLEM_BASE + rule.replace(".", "/")


def title_of(rule: str, status: int) -> str:
    category = rule.partition(".")[0]
    known = CATEGORIES.get(category)
    if known is None or category == "http":
        return _phrase(status)
    return known[1]


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "HTTP error"


def http_rule(status: int) -> str:
    """``http.not_found``, ``http.method_not_allowed``...: a routing or protocol refusal."""
    return "http." + re.sub(r"[^a-z0-9]+", "_", _phrase(status).lower()).strip("_")


_INDEX = re.compile(r"\[(\d+)\]")
_FRAGMENT_SAFE = "~!$&'()*+,;=:@-._"


def _parts(field: str) -> list[str | int]:
    """A domain field name (``eligible_countries[1]``, ``province_budgets.31``) as a path."""
    parts: list[str | int] = []
    for piece in _INDEX.sub(r".\1", field).split("."):
        if piece:
            parts.append(int(piece) if piece.isdigit() else piece)
    return parts


def _pointer(path: Sequence[str | int]) -> str:
    """RFC 6901 in its URI fragment form (section 6): ``~``/``/`` escaped, then percent-encoded."""
    escaped = (str(p).replace("~", "~0").replace("/", "~1") for p in path)
    return "#" + "".join(f"/{quote(p, safe=_FRAGMENT_SAFE)}" for p in escaped)


def dotted(path: Sequence[str | int]) -> str:
    """A field's name from its pydantic ``loc``: ``products[3]``, ``owner.email``."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


@dataclass(frozen=True)
class FieldError:
    """One failing field (or the whole body, ``loc == ["body"]``) and the rule it breaks."""

    loc: list[str | int]
    rule: str
    detail: str
    context: Mapping[str, Any] | None = None
    named: bool = False
    """``loc`` holds a domain field name (``eligible_countries[1]``), read as a path."""

    @classmethod
    def of_field(cls, field: str | None, rule: str, detail: str) -> FieldError:
        return cls(["body", field] if field else ["body"], rule, detail, named=True)

    def as_json(self) -> dict[str, Any]:
        where, path = (self.loc[0], self.loc[1:]) if self.loc else ("body", [])
        entry: dict[str, Any] = {}
        if where == "body":
            if self.named:  # the domain's own name stays the field's name
                entry["pointer"] = _pointer([p for part in path for p in _parts(str(part))])
                entry["field"] = ".".join(str(part) for part in path) or None
            else:
                entry["pointer"] = _pointer(path)
                entry["field"] = dotted(path) or None
        else:
            entry["parameter"] = dotted(path)
            entry["in"] = where
            entry["field"] = entry["parameter"]
        entry |= {"loc": self.loc, "rule": self.rule, "type": type_uri(self.rule)}
        entry["detail"] = self.detail
        if self.context:
            entry["context"] = dict(self.context)
        return entry


def problem(
    status: int,
    rule: str,
    detail: str,
    *,
    instance: str,
    errors: Iterable[FieldError] = (),
    **extensions: Any,
) -> dict[str, Any]:
    """A problem document; ``extensions`` add members such as ``limit_bytes``."""
    body: dict[str, Any] = {
        "type": type_uri(rule),
        "title": title_of(rule, status),
        "status": status,
        "detail": detail,
        "instance": instance,
        "rule": rule,
    }
    listed = [e.as_json() for e in errors]
    if listed:
        body["errors"] = listed
    return body | extensions


def validation_problem(errors: Sequence[FieldError], *, instance: str) -> dict[str, Any]:
    """The one 422: every failing field at once."""
    if len(errors) == 1:
        detail = errors[0].detail
    else:
        detail = f"{len(errors)} fields break a rule: " + ", ".join(
            e.as_json()["field"] or "body" for e in errors
        )
    return problem(422, "invalid", detail, instance=instance, errors=errors)


def from_pydantic(error: Mapping[str, Any], rule: str) -> FieldError:
    """A pydantic error without its ``input`` (and any ``ctx`` value that might repeat it)."""
    ctx = error.get("ctx") or {}
    sent = error.get("input")
    safe = {k: v for k, v in ctx.items() if k in SAFE_CONTEXT and _plain(v) and v != sent}
    message = str(error.get("msg", ""))
    if isinstance(sent, str) and len(sent) >= 3:  # a custom rule's message may quote it
        message = _unquoted(message, sent)
    return FieldError(list(error.get("loc", ())), rule, message, safe or None)


def _unquoted(message: str, sent: str) -> str:
    """``message`` with ``sent`` replaced where it stands whole, not inside a longer word of the
    rule's own text (``xls`` sent: ``Input should be 'csv' or 'xlsx'`` is left as it is)."""
    whole = re.compile(rf"(?<!\w){re.escape(sent)}(?!\w)" if sent.isalnum() else re.escape(sent))
    return whole.sub("(the value sent)", message)


def _plain(value: object) -> bool:
    return isinstance(value, str | int | float | bool) or value is None
