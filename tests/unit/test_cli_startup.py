"""``ikm --help`` and ``ikm token`` stay fast: they import neither the services, nor FastAPI,
nor pydantic (typer's parameter coercion would), nor an HTTP or JWT library.

Measured, not timed: a timing assertion would flake on a loaded machine; what makes start-up
slow is what gets imported, and that is exact.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import jwt
import pytest

from ikm_cli.lazy import load
from ikm_cli.main import GROUPS

HEAVY = ("fastapi", "starlette", "services", "pydantic", "httpx", "jwt", "aiokafka", "faststream")

PROBE = """
import json, sys
args, watched = json.loads(sys.argv[1]), set(json.loads(sys.argv[2]))
sys.argv = ["ikm", *args]
from ikm_cli.main import app
try:
    app()
except SystemExit as exit:
    code = exit.code
heavy = sorted({m.split(".")[0] for m in sys.modules} & watched)
heavy += sorted(m for m in sys.modules if m == "ikmkit.auth" or m.startswith("ikm_cli.") and m
                not in ("ikm_cli.main", "ikm_cli.lazy", "ikm_cli.plain", "ikm_cli.tokens"))
print(json.dumps({"code": code, "heavy": heavy}))
"""


def run_ikm(*args: str, env: dict[str, str] | None = None) -> tuple[str, dict[str, object]]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(args), json.dumps(HEAVY)],
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    *output, probe = done.stdout.strip().splitlines()
    return "\n".join(output), json.loads(probe)


def test_help_lists_every_group_without_importing_any() -> None:
    output, probe = run_ikm("--help")
    assert probe == {"code": 0, "heavy": []}
    for name in ("token", *GROUPS):
        assert f"  {name} " in output


def test_token_imports_nothing_heavy_and_is_a_valid_token() -> None:
    output, probe = run_ikm("token", "ministry")
    assert probe == {"code": 0, "heavy": []}
    claims = jwt.decode(output.strip(), options={"verify_signature": False})
    assert claims["role"] == "ministry"


@pytest.mark.parametrize("name", list(GROUPS))
def test_a_groups_listed_help_is_its_own(name: str) -> None:
    """The one-line help ``ikm --help`` shows without importing the group is the group's."""
    assert load(name, GROUPS[name]).help == GROUPS[name].help


def test_a_group_is_imported_when_invoked(tmp_path: Path) -> None:
    output, probe = run_ikm("dev", "status", "--json", env={"IKM_STATE_DIR": str(tmp_path)})
    assert probe["code"] == 1 and json.loads(output) == {"running": False}
    assert "ikm_cli.dev" in probe["heavy"]


def test_token_json_is_one_document() -> None:
    output, probe = run_ikm("token", "service", "--ttl", "60", "--json")
    assert probe == {"code": 0, "heavy": []}
    document = json.loads(output)
    assert document["expires_in"] == 60
    assert jwt.decode(document["token"], options={"verify_signature": False})["role"] == "service"
