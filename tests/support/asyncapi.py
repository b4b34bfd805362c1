"""Validate an AsyncAPI 3.0 document against the specification's own JSON Schema (vendored)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft7Validator

SCHEMA_FILE = Path(__file__).parent / "schemas" / "asyncapi-3.0.0.json"


@cache
def _validator() -> Draft7Validator:
    return Draft7Validator(json.loads(SCHEMA_FILE.read_text(encoding="utf-8")))


def asyncapi_errors(document: dict[str, Any]) -> list[str]:
    """Every way ``document`` breaks the AsyncAPI 3.0.0 schema ([] when it conforms)."""
    return [
        f"{error.json_path}: {error.message[:300]}" for error in _validator().iter_errors(document)
    ]
