"""The catalogue of problem types, ``docs/errors.md``, generated from the code so it cannot
drift: the platform's own types (below), the shared value rules (``contracts.values.RULES``)
and every rule a service raises (``InvalidInput(..., rule="nib_format")`` and its siblings),
found by reading the source.

``python -m ikmkit.service.problem_catalog`` rewrites docs/errors.md; ``--check`` exits 1 if
it is stale (``tests/unit/test_problem_catalog.py`` runs it).
"""

from __future__ import annotations

import argparse
import ast
import importlib
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from contracts import values
from ikmkit.service import limits
from ikmkit.service.problems import CATEGORIES, PROBLEM_BASE, SCHEMA_CATEGORY, type_uri

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "errors.md"
SCANNED = ("services", "ikmkit", "contracts")

RAISERS = {
    "InvalidInput": "invalid",
    "checked": "invalid",
    "NotFound": "not_found",
    "Conflict": "conflict",
    "Forbidden": "forbidden",
    "Unauthorized": "unauthorized",
    "BrokerUnavailable": "unavailable",
}
"""Calls that raise a rule, and the category each gives it (``ikmkit.service.errors``)."""

PLATFORM: dict[str, str] = {
    "invalid": "422 of any request: every failing field is listed in `errors`, each with "
    "its own rule and type.",
    "invalid.repeated_parameter": "A query parameter that takes one value was given more "
    "than once (`?province=34&province=35`); the router would have kept the last "
    "(`ikmkit/service/query_guard.py`).",
    "invalid.unicode": "A JSON string (or key) is not valid Unicode (a lone surrogate); "
    "found by `RequestGuard` before any handler.",
    "invalid.cursor": (
        "The `cursor` query parameter is not one this listing issued (another endpoint's or"
        " order's cursor, or a tampered one): start the listing again without it."
    ),
    "invalid.unstorable": "A value the store cannot hold got past the field bounds.",
    "too_large.body": "The body is over the route's limit (`limit_bytes`; "
    "`<SERVICE>_MAX_REQUEST_BYTES`, `<SERVICE>_MAX_BULK_REQUEST_BYTES`).",
    "conflict.version": "The `version` sent is not the record's current one.",
    "conflict.concurrent": "A concurrent request changed the record; retry after "
    "`Retry-After` seconds.",
    "conflict.duplicate": "A record with that key already exists (`errors` names the key).",
    "unauthorized.missing": "No bearer token.",
    "unauthorized.expired": "The token has expired.",
    "unauthorized.not_yet_valid": "The token is not valid yet (`nbf`).",
    "unauthorized.audience": "The token is for another audience.",
    "unauthorized.issuer": "The token is from another issuer.",
    "unauthorized.missing_claim": "The token lacks a required claim.",
    "unauthorized.signature": "The token's signature does not verify.",
    "unauthorized.algorithm": "The token uses an algorithm this service does not accept.",
    "unauthorized.malformed": "The token is not a JWT.",
    "forbidden": "The caller's role may not do this.",
    "http.not_found": "No such route (the router's 404).",
    "http.method_not_allowed": "The route does not take this method (`Allow` lists those it "
    "takes).",
    "server.internal": "The service failed; the cause is in its log, never in the answer.",
}
"""The types ``ikmkit`` itself answers, whatever the service."""

COMPUTED: dict[str, dict[str, str]] = {
    "ikmkit/auth.py": {},  # the token's rules: unauthorized.* in PLATFORM
    "ikmkit/service/errors.py": {},  # checked(): a value type's rule, in values.RULES
    "services/subsidy/domain/program_terms.py": {},  # fail(..., code=): read at the check() calls
    "ikmkit/service/limits.py": {f"invalid.{r}": m for r, m in limits.CHARACTER_RULES.items()},
    "services/training/domain/rules.py": {},  # fail(..., code): read at the check() calls
    "services/training/domain/mentoring.py": {
        "conflict.mou_required": "no signed technical-assistance MoU covers this partner",
        "conflict.mou_terminated": "the partner's technical-assistance MoU was terminated",
        "conflict.mou_not_yet_valid": "the partner's technical-assistance MoU is not in force yet",
        "conflict.mou_expired": "the partner's technical-assistance MoU has expired",
    },
}
"""Rules a service computes (``rule=rule``) that reading the call cannot name, by file; a new
computed site in a file not listed here fails ``tests/unit/test_problem_catalog.py``."""


@dataclass(frozen=True)
class Raised:
    rule: str
    where: str
    message: str


def _call_name(node: ast.Call) -> str | None:
    func = node.func
    if isinstance(func, ast.Name):
        return func.id
    return func.attr if isinstance(func, ast.Attribute) else None


def _text(node: ast.expr | None) -> str | None:
    """A literal, or an f-string as its template (``{action}``); None if computed."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        parts = []
        for value in node.values:
            if isinstance(value, ast.Constant):
                parts.append(str(value.value))
            elif isinstance(value, ast.FormattedValue):
                parts.append("{" + ast.unparse(value.value) + "}")
        return "".join(parts)
    return None


def _module_constant(path: Path, root: Path, node: ast.expr) -> str | None:
    """``destinations.PRIVATE_ADDRESS``: a name the module (or a module it imports) binds."""
    if not isinstance(node, ast.Name | ast.Attribute):
        return None
    module = importlib.import_module(".".join(path.relative_to(root).with_suffix("").parts))
    value: object = module
    names = ast.unparse(node).split(".")
    for name in names:
        value = getattr(value, name, None)
    return value if isinstance(value, str) and names[0] in vars(module) else None


FAILERS = ("fail", "_fail")
"""Domain helpers ``fail(message, field, code)`` that raise ``InvalidInput`` for
``Violations.check(fail, ...)``: the rule is the call's ``code``."""


def _failed(node: ast.Call) -> tuple[str, str] | None:
    """``found.check(fail, "message", "field", "code")`` (or ``at=``/``code=``) as (rule, text)."""
    if _call_name(node) != "check" or not node.args:
        return None
    first = node.args[0]
    if not (isinstance(first, ast.Name) and first.id in FAILERS):
        return None
    given = node.args[1:]
    code_arg = next((k.value for k in node.keywords if k.arg == "code"), None)
    if code_arg is None and len(given) >= 3:
        code_arg = given[2]
    rule = _text(code_arg) or "?"
    message = _text(given[0]) if given else None
    return f"invalid.{rule}", " ".join((message or "").split())


def raised_rules(root: Path = ROOT) -> Iterator[Raised]:
    """Every rule raised in the scanned packages with a literal, an f-string or a module
    constant as its ``rule=``; a computed one is a ``Raised`` whose rule ends in ``.?``."""
    for package in SCANNED:
        for path in sorted((root / package).rglob("*.py")):
            tree = ast.parse(path.read_text(), str(path))
            for node in ast.walk(tree):
                if not isinstance(node, ast.Call):
                    continue
                failed = _failed(node)
                if failed is not None:
                    yield Raised(failed[0], str(path.relative_to(root)), failed[1])
                    continue
                category = RAISERS.get(_call_name(node) or "")
                if category is None:
                    continue
                rule_arg = next((k.value for k in node.keywords if k.arg == "rule"), None)
                rule = _text(rule_arg) if rule_arg is not None else None
                if rule is None and rule_arg is not None:
                    rule = _module_constant(path, root, rule_arg) or "?"
                if rule is None and category == "invalid":
                    continue  # checked() without a rule: the value type's, in values.RULES
                message = _text(node.args[0]) if node.args else None
                code = f"{category}.{rule}" if rule else category
                where = str(path.relative_to(root))  # no line: edits elsewhere change none
                yield Raised(code, where, " ".join((message or "").split()))


def documented_rules(root: Path = ROOT) -> list[Raised]:
    """``raised_rules`` with each computed site replaced by its file's ``COMPUTED`` rules."""
    found: set[Raised] = set()
    for raised in raised_rules(root):
        if not raised.rule.endswith(".?"):
            found.add(raised)
            continue
        computed = COMPUTED.get(raised.where, {})
        found |= {Raised(rule, raised.where, text) for rule, text in computed.items()}
    return sorted(found, key=lambda r: (r.rule, r.where, r.message))


INTRO = """# Error types

<!-- GENERATED by `python -m ikmkit.service.problem_catalog`: do not edit. -->

Every error is an RFC 9457 problem, `application/problem+json` (`ikmkit/service/problems.py`).
`type` is the rule's URI, `rule` the same as a short code: `{base}` + the rule with `/` for
`.` (`invalid.nib_format` is `{nib_format}`).

```json
{{"type": "{invalid}", "title": "Invalid input", "status": 422,
 "detail": "2 fields break a rule: owner_nik, kbli", "instance": "/enterprises",
 "rule": "invalid",
 "errors": [{{"pointer": "#/owner_nik", "field": "owner_nik", "loc": ["body", "owner_nik"],
             "rule": "invalid.nik_birth_date", "type": "{nik_birth_date}",
             "detail": "NIK digits 7-12 must be a birth date DDMMYY (women: day + 40)"}}, ...]}}
```

- A 422 always has `type` `{invalid}` and lists **every** failing field in `errors`;
  other problems list the field they concern there, if any. A body its request model refuses
  (types, lengths, formats) is also held to the domain's rules on the fields the model
  accepted, in the same answer, as an import's row is: a registration with a 12-digit NIB
  and a negative workforce names both (`POST`/`PATCH /enterprises`, `POST /partners`,
  `POST /mous`, `POST /courses`, `POST /programs`, `POST /applications` (the invoice
  lines' own rules; their kind and the enterprise wait for the program and its replica):
  their request models' `rules_broken`,
  `ikmkit/service/body_rules.py`; a rule reading a refused field does not run); elsewhere
  the domain's rules run once the model accepts the body.
- Nothing sent is ignored: a body field its request model does not declare
  (`ikmkit/service/command.py`) and a query parameter its route does not take
  (`ikmkit/service/query_guard.py`) are each named with the schema rule `extra_forbidden`,
  beside the request's other errors, and a query parameter given twice with
  `invalid.repeated_parameter`. A misspelled optional field would otherwise take its
  default (`eligible_directorate` for `eligible_directorates`: a program open to every
  sector) and a misspelled filter answer everything (`?provinse=34`).
- A body field is named by `pointer` (RFC 6901, as a URI fragment: `#/lines/0/price`), a
  query or path parameter by `parameter` and `in`. `field` is the dotted name
  (`lines[0].price`), `loc` FastAPI's location (`["body", "lines", 0, "price"]`).
- `context` carries a schema rule's limits (`max_length`, `le`, `pattern`...). No problem
  repeats a value the client sent.
- 401 carries `WWW-Authenticate: Bearer`; `conflict.concurrent` carries `Retry-After`; 405
  carries `Allow`; 413 carries `limit_bytes`.
- Each service's OpenAPI document (`/openapi.json`) declares the statuses of every operation
  with the `Problem` and `ValidationProblem` schemas.

## Categories

| category | status | title |
|---|---|---|
"""

SCHEMA_RULES = """
## Request schema rules

What the OpenAPI schema states (types, lengths, ranges, patterns), pydantic checks; its error
types are the rules, with type `{base}{schema}/<type>` (`missing`, `string_too_long`,
`less_than_equal`, `int_parsing`...: see
<https://docs.pydantic.dev/latest/errors/validation_errors/>). The platform's shared value
types (`contracts/values.py`) name their own rules:

"""


def catalogue(root: Path = ROOT) -> str:
    lines = [
        INTRO.format(
            base=PROBLEM_BASE,
            invalid=type_uri("invalid"),
            nib_format=type_uri("invalid.nib_format"),
            nik_birth_date=type_uri("invalid.nik_birth_date"),
        )
    ]
    for category, (status, title) in CATEGORIES.items():
        lines.append(f"| `{category}` | {status or 'the HTTP status'} | {title} |\n")
    lines.append(
        "\n## Platform types (every service)\n\n| rule | type | meaning |\n|---|---|---|\n"
    )
    lines += [f"| `{r}` | `{type_uri(r)}` | {text} |\n" for r, text in sorted(PLATFORM.items())]
    lines.append(SCHEMA_RULES.format(base=PROBLEM_BASE, schema=SCHEMA_CATEGORY))
    lines += [f"- `invalid.{r}`: `{type_uri('invalid.' + r)}`\n" for r in sorted(values.RULES)]
    lines.append("\n## Service rules\n\n| rule | raised in | message |\n|---|---|---|\n")
    for raised in documented_rules(root):
        message = raised.message.replace("|", "\\|") or "(message computed when raised)"
        lines.append(f"| `{raised.rule}` | `{raised.where}` | {message} |\n")
    return "".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="exit 1 if docs/errors.md is stale")
    args = parser.parse_args(argv)
    text = catalogue()
    if args.check:
        if not DOC.exists() or DOC.read_text() != text:
            print("stale: docs/errors.md (run python -m ikmkit.service.problem_catalog)")
            return 1
        return 0
    DOC.write_text(text)
    print(f"wrote {DOC.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
