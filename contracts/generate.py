"""Generate, check and publish the event contracts; the compatibility gate.

``python -m contracts.generate``            write ``contracts/schemas/<Event>.json`` and
                                            ``contracts/asyncapi.json`` from the catalog
``python -m contracts.generate --check``    fail if those committed files are stale
``python -m contracts.generate --gate``     fail if the committed schemas break a published one
``python -m contracts.generate --publish``  snapshot the committed schemas into
                                            ``contracts/published/`` (a release step)

The AsyncAPI document is ``contracts.asyncapi``'s (the platform's: every topic and its
owner; each service serves its own, with its consumer groups, at ``/asyncapi.json``).
The gate compares the *committed* generated schemas (not the live models) with the
published snapshot, so work in progress on a model fails nothing until it is
regenerated. The rules are ``contracts.compatibility``'s; a schema is
``contracts.schema.event_schema``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from contracts.asyncapi import asyncapi_document
from contracts.catalog import EVENTS_BY_NAME
from contracts.compatibility import Breaking, compatibility_problems
from contracts.schema import Schema, event_schema

CONTRACTS_DIR = Path(__file__).resolve().parent
SCHEMAS_DIR = CONTRACTS_DIR / "schemas"
PUBLISHED_DIR = CONTRACTS_DIR / "published"
ASYNCAPI_FILE = CONTRACTS_DIR / "asyncapi.json"


def render_json(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


# --------------------------------------------------------------------------- files


def expected_files() -> dict[Path, str]:
    files = {
        SCHEMAS_DIR / f"{n}.json": render_json(event_schema(m)) for n, m in EVENTS_BY_NAME.items()
    }
    files[ASYNCAPI_FILE] = render_json(asyncapi_document())
    return files


def write_generated() -> list[Path]:
    SCHEMAS_DIR.mkdir(exist_ok=True)
    expected = expected_files()
    for stale in set(SCHEMAS_DIR.glob("*.json")) - set(expected):
        stale.unlink()
    for path, text in expected.items():
        path.write_text(text, encoding="utf-8")
    return sorted(expected)


def stale_files() -> list[str]:
    """Generated files whose committed text differs from what the models generate now."""
    expected = expected_files()
    problems = [
        f"{path.relative_to(CONTRACTS_DIR.parent)} is stale or missing"
        for path, text in expected.items()
        if not path.exists() or path.read_text(encoding="utf-8") != text
    ]
    problems += [
        f"{path.relative_to(CONTRACTS_DIR.parent)} has no event any more"
        for path in SCHEMAS_DIR.glob("*.json")
        if path not in expected
    ]
    return sorted(problems)


def load_schemas(directory: Path) -> dict[str, Schema]:
    return {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in directory.glob("*.json")}


def publish() -> list[Path]:
    """Snapshot the committed schemas as the published ones (after the gate passed)."""
    PUBLISHED_DIR.mkdir(exist_ok=True)
    copied = []
    for path in sorted(SCHEMAS_DIR.glob("*.json")):
        shutil.copyfile(path, PUBLISHED_DIR / path.name)
        copied.append(PUBLISHED_DIR / path.name)
    return copied


def gate() -> list[Breaking]:
    """The committed schemas against the published snapshot."""
    return compatibility_problems(load_schemas(PUBLISHED_DIR), load_schemas(SCHEMAS_DIR))


# --------------------------------------------------------------------------- CLI


def _print_all(lines: Iterator[str] | list[str]) -> None:
    for line in lines:
        print(line, file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m contracts.generate", description=__doc__)
    action = parser.add_mutually_exclusive_group()
    action.add_argument("--check", action="store_true", help="fail if generated files are stale")
    action.add_argument("--gate", action="store_true", help="fail on breaking changes")
    action.add_argument("--publish", action="store_true", help="snapshot the published schemas")
    args = parser.parse_args(argv)
    if args.check:
        stale = stale_files()
        _print_all(stale + (["run `make contracts` and commit the result"] if stale else []))
        return 1 if stale else 0
    if args.publish and stale_files():
        _print_all([*stale_files(), "run `make contracts` first: only fresh schemas are published"])
        return 1
    if args.gate or args.publish:
        problems = gate()
        _print_all([f"BREAKING {p}" for p in problems])
        if problems:
            print(
                "a breaking change needs a new .v<N+1> topic: see docs/contracts.md",
                file=sys.stderr,
            )
            return 1
        if args.publish:
            print(f"published {len(publish())} schemas to {PUBLISHED_DIR}")
        return 0
    written = write_generated()
    print(f"wrote {len(written)} files under {CONTRACTS_DIR}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
