"""docs/errors.md lists every problem type the code can answer, and is current."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from ikmkit.service import problem_catalog
from ikmkit.service.problem_catalog import COMPUTED, PLATFORM, ROOT, raised_rules
from ikmkit.service.problems import type_uri

RULE_LITERAL = re.compile(r'"((?:invalid|conflict|too_large|server|unauthorized)\.[a-z_]+)"')


def test_docs_errors_md_is_current() -> None:
    assert problem_catalog.main(["--check"]) == 0, (
        "docs/errors.md is stale: run python -m ikmkit.service.problem_catalog"
    )


def test_every_computed_rule_is_listed() -> None:
    computed = {r.where for r in raised_rules() if r.rule.endswith(".?")}
    assert computed <= set(COMPUTED), f"document the rules computed in {computed - set(COMPUTED)}"


def test_the_platform_types_are_the_ones_ikmkit_answers() -> None:
    http = (ROOT / "ikmkit/service/http.py").read_text()
    assert set(RULE_LITERAL.findall(http)) <= set(PLATFORM)
    auth = ast.parse((ROOT / "ikmkit/auth.py").read_text())
    rule_of = next(
        n for n in ast.walk(auth) if isinstance(n, ast.FunctionDef) and n.name == "_rule_of"
    )
    jwt_rules = {
        f"unauthorized.{n.value}"
        for n in ast.walk(rule_of)
        if isinstance(n, ast.Constant) and isinstance(n.value, str)
    }
    assert jwt_rules and jwt_rules <= set(PLATFORM)


def test_a_rule_has_one_type_uri_and_the_doc_lists_it() -> None:
    doc = Path(ROOT / "docs/errors.md").read_text()
    rules = {r.rule for r in raised_rules() if not r.rule.endswith(".?")} | set(PLATFORM)
    uris = {type_uri(rule) for rule in rules}
    assert len(uris) == len(rules)
    assert all(f"`{rule}`" in doc for rule in rules)
