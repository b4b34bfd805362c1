"""``contracts/`` builds as its own wheel, ``ikm-contracts``, that decodes and verifies events.

The wheel is built (``uv build contracts``), installed into a clean ``uv venv`` (its
dependencies from PyPI or uv's cache) and, in that interpreter, which has no ``ikmkit``,
decodes and verifies records the platform's outbox wrote for every event type, plus the
published chain vectors it carries. About 10-30 s; the first run on a machine downloads
pydantic and the other dependencies.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.support.event_samples import every_event, platform_records

ROOT = Path(__file__).resolve().parents[2]
UV = str(ROOT / "scripts" / "uv")

CONSUMER = """
import json, sys
from importlib import resources
from importlib.util import find_spec

import contracts
from contracts.catalog import EVENTS_BY_TYPE
from contracts.schema import schema_for
from contracts.verify import StreamVerifier

assert find_spec("ikmkit") is None, "the wheel must work without the platform"
assert "site-packages" in contracts.__file__, contracts.__file__
verifier, types = StreamVerifier(), set()
with open(sys.argv[1], encoding="utf-8") as log:
    for line in log:
        r = json.loads(line)
        headers = [(k, v.encode()) for k, v in r["headers"]]
        envelope = verifier.check(r["topic"], headers, r["value"].encode())
        assert envelope is not None, verifier.problems
        assert type(envelope.event) is EVENTS_BY_TYPE[envelope.attrs.type]
        assert schema_for(envelope.attrs.dataschema)["x-topic"] == r["topic"]
        types.add(envelope.attrs.type)
vectors_file = resources.files("contracts").joinpath("vectors/chain-vectors.json")
vectors, spanning = json.loads(vectors_file.read_text()), StreamVerifier()
for record in vectors["chain"]["records"]:  # legacy and RFC 8785 events, one stream
    headers = [(k, v.encode()) for k, v in record["headers"].items()]
    spanning.check(record["topic"], headers, record["payload"].encode())
print(json.dumps({"events": verifier.events + spanning.events, "types": len(types),
                  "problems": [p.kind for p in verifier.problems + spanning.problems]}))
"""


def run(*args: str, cwd: Path = ROOT) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    done = subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=240, check=False
    )
    assert done.returncode == 0, f"{args}: {done.stdout}\n{done.stderr}"
    return done.stdout


def test_contracts_import_nothing_of_the_platform() -> None:
    for path in (ROOT / "contracts").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import | ast.ImportFrom):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
                module = node.module if isinstance(node, ast.ImportFrom) else None
                for name in [*names, module or ""]:
                    assert not name.startswith(("ikmkit", "services", "ikm_cli")), path.name


@pytest.mark.timeout(240)
async def test_the_wheel_installs_in_a_clean_venv_and_verifies_real_events(
    tmp_path: Path,
) -> None:
    run(UV, "build", "contracts", "--wheel", "--out-dir", str(tmp_path / "dist"))
    (wheel,) = (tmp_path / "dist").glob("ikm_contracts-*.whl")
    run(UV, "venv", "--quiet", str(tmp_path / "venv"))
    python = str(tmp_path / "venv" / "bin" / "python")
    run(UV, "pip", "install", "--quiet", "--python", python, str(wheel))

    records = await platform_records(every_event(), repeat=2)
    log = tmp_path / "records.jsonl"
    log.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    (tmp_path / "consumer.py").write_text(CONSUMER, encoding="utf-8")
    # Run from tmp_path: the repository's own contracts/ must not shadow the installed one.
    summary = json.loads(run(python, "consumer.py", str(log), cwd=tmp_path))
    assert summary == {
        "events": len(records) + 4,
        "types": len({dict(r["headers"])["ce_type"] for r in records}),
        "problems": [],
    }
    assert summary["types"] == len(every_event())
