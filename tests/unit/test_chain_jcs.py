"""The hash chain uses RFC 8785 (JCS); logs that span the change still verify.

The published vectors (``contracts/vectors/chain-vectors.json``) come from the platform's
own code, and the standalone recipe in ``docs/contracts.md`` is run here as an auditor runs
it: an interpreter that sees the standard library and ``rfc8785`` only.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from contracts import envelope as ce
from contracts.schema import schema_for
from ikmkit.audit.chain import ChainVerifier
from ikmkit.audit.findings import Kind
from ikmkit.messaging.cloudevents import canonical_json
from tests.support import chain_vectors
from tests.support.event_samples import every_event, platform_records
from tests.support.records import Record as LogRecord

ROOT = Path(__file__).resolve().parents[2]
VECTORS = json.loads(chain_vectors.VECTORS_FILE.read_text(encoding="utf-8"))


def log_records(records: list[dict[str, Any]]) -> list[LogRecord]:
    return [
        LogRecord(r["topic"], 0, n, r["key"].encode(), r["payload"].encode(),
                  [(k, v.encode()) for k, v in r["headers"].items()])
        for n, r in enumerate(records)
    ]  # fmt: skip


def findings(records: list[dict[str, Any]]) -> list[tuple[Kind, int | None]]:
    one_by_one, batched = ChainVerifier(), ChainVerifier()
    for record in log_records(records):
        one_by_one.check(record)
    batched.check_all(log_records(records))  # replay's fast path must agree
    found = [(f.kind, f.sequence) for f in one_by_one.finish()]
    assert sorted(found) == sorted((f.kind, f.sequence) for f in batched.finish())
    return found


def chain_records() -> list[dict[str, Any]]:
    return json.loads(json.dumps(VECTORS["chain"]["records"]))  # a private copy


def test_canonical_json_is_rfc8785() -> None:
    assert canonical_json({"amount": 1.0, "big": 1e21}) == '{"amount":1,"big":1e+21}'
    assert canonical_json({"\ufb33": 3, "\U0001f600": 2, "\u20ac": 1}) == (
        '{"\u20ac":1,"\U0001f600":2,"\ufb33":3}'  # UTF-16 code-unit order, not code points
    )
    with pytest.raises(ValueError):
        canonical_json({"n": 2**53 + 1})  # I-JSON: never written, rather than rounded


async def test_new_events_hash_the_rfc8785_form_of_the_whole_event() -> None:
    for record in await platform_records(every_event()):
        headers = dict(record["headers"])
        assert headers[ce.H_HASHCANON] == "rfc8785"
        data = json.loads(record["value"])
        assert record["value"] == rfc8785.dumps(data).decode()  # the payload is JCS
        attributes = {
            "id": headers[ce.H_ID], "region": headers.get(ce.H_REGION),
            "sequence": int(headers[ce.H_SEQUENCE]), "source": headers[ce.H_SOURCE],
            "subject": headers[ce.H_SUBJECT], "time": headers[ce.H_TIME],
            "type": headers[ce.H_TYPE],
        }  # fmt: skip
        body = rfc8785.dumps({"data": data, **attributes})
        previous = ce.GENESIS_HASH if attributes["sequence"] == 1 else None
        if previous is not None:
            assert hashlib.sha256(previous.encode() + body).hexdigest() == headers[ce.H_HASH]


def test_the_committed_vectors_are_what_the_platform_builds() -> None:
    assert chain_vectors.VECTORS_FILE.read_text(encoding="utf-8") == chain_vectors.render()


def test_canonicalization_vectors_reproduce_with_a_jcs_library() -> None:
    for vector in VECTORS["canonicalization"]:
        canonical = rfc8785.dumps(json.loads(vector["input"], parse_int=float))
        assert canonical.decode() == vector["canonical"], vector["name"]
        assert hashlib.sha256(canonical).hexdigest() == vector["sha256"], vector["name"]
    differing = {v["name"] for v in VECTORS["canonicalization"] if "legacy" in v}
    assert len(differing) == 4  # 1.0 vs 1, exponents, > 2^53, keys outside the BMP


def test_an_audit_of_a_log_spanning_the_change_verifies_both_forms() -> None:
    records = chain_records()
    assert [r["headers"].get(ce.H_HASHCANON) for r in records] == [None, None, "rfc8785"] * 1 + [
        "rfc8785"
    ]
    assert findings(records) == []


def test_a_legacy_event_given_the_rfc8785_marker_is_tampered() -> None:
    records = chain_records()
    records[1]["headers"][ce.H_HASHCANON] = "rfc8785"  # its payload has 1.0: the forms differ
    assert findings(records) == [(Kind.TAMPERED, 2)]


def test_an_rfc8785_event_re_serialized_on_the_way_still_verifies_but_altered_does_not() -> None:
    records = chain_records()
    data = json.loads(records[3]["payload"])
    records[3]["payload"] = json.dumps(dict(reversed(data.items())), indent=1)
    assert findings(records) == []
    records[2]["payload"] = records[2]["payload"].replace("officer-3", "officer-X")
    assert findings(records) == [(Kind.TAMPERED, 3)]


def test_an_unknown_canonical_form_is_not_accepted() -> None:
    records = chain_records()
    records[3]["headers"][ce.H_HASHCANON] = "rfc9999"
    assert findings(records) == [(Kind.TAMPERED, 4)]


def test_dataschema_resolves_to_the_published_schema() -> None:
    schema = schema_for("urn:ikm:contract:EnterpriseVerified:v1")
    assert schema["x-cloudevents-type"] == "id.go.kemenperin.ikm.EnterpriseVerified.v1"
    for wrong in ("urn:ikm:contract:EnterpriseVerified:v9", "urn:ikm:contract:../x:v1"):
        with pytest.raises(KeyError):
            schema_for(wrong)


def recipe_source() -> str:
    doc = (ROOT / "docs" / "contracts.md").read_text(encoding="utf-8")
    block = re.search(r"<!-- recipe:begin -->\n```python\n(.*?)```\n<!-- recipe:end -->", doc, re.S)
    assert block is not None
    return block.group(1)


def run_recipe(tmp_path: Path, records: list[dict[str, Any]]) -> subprocess.CompletedProcess[str]:
    """The recipe in an interpreter with no site-packages: only the stdlib and rfc8785."""
    (tmp_path / "verify_chain.py").write_text(recipe_source(), encoding="utf-8")
    if not (tmp_path / "rfc8785").exists():
        shutil.copytree(Path(rfc8785.__file__).parent, tmp_path / "rfc8785")
    log = tmp_path / "log.jsonl"
    log.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return subprocess.run(
        [sys.executable, "-S", "-E", str(tmp_path / "verify_chain.py"), str(log)],
        check=False, capture_output=True, text=True, timeout=60, cwd=tmp_path,
    )  # fmt: skip


def test_the_recipe_imports_only_the_standard_library_and_rfc8785() -> None:
    imported = set(re.findall(r"^(?:import|from) (\w+)", recipe_source(), re.M))
    assert imported - set(sys.stdlib_module_names) == {"rfc8785"}


async def test_the_recipe_verifies_the_vectors_and_every_event_type(tmp_path: Path) -> None:
    done = run_recipe(tmp_path, chain_records())
    assert (done.returncode, done.stdout.strip()) == (0, "1 streams verify"), done.stderr
    written = await platform_records(every_event(), repeat=2)
    kcat_style = [
        {"topic": r["topic"], "key": r["key"], "payload": r["value"],
         "headers": [item for pair in r["headers"] for item in pair]}
        for r in written
    ]  # fmt: skip
    done = run_recipe(tmp_path, kcat_style)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_recipe_reports_tampering(tmp_path: Path) -> None:
    records = chain_records()
    records[0]["payload"] = records[0]["payload"].replace("officer-1", "officer-9")
    records[3]["headers"][ce.H_SEQUENCE] = "0000000000000005"
    done = run_recipe(tmp_path, records)
    assert done.returncode == 1
    assert done.stdout.splitlines() == [
        f"('{records[0]['topic']}', '1234567890123'): event 1 does not match its ce_hash",
        f"('{records[0]['topic']}', '1234567890123'): event 5 follows event 3",
        # event 4 carries ce_prevhash: checked on its own, its hash does not hold for "5"
        f"('{records[0]['topic']}', '1234567890123'): event 5 does not match its ce_hash",
    ]


def test_the_recipe_checks_an_event_without_its_predecessor_by_its_prevhash(
    tmp_path: Path,
) -> None:
    """A log starting at event 4 (past retention, or exported from there): event 4 is checked
    on its own; a copy of its headers on other data is found, a legacy event is not checkable."""
    records = chain_records()
    topic = records[0]["topic"]
    done = run_recipe(tmp_path, records[3:])
    assert done.stdout.splitlines() == [f"('{topic}', '1234567890123'): event 4 follows event 0"]
    copy = {**records[3], "payload": records[3]["payload"].replace("officer-4", "officer-X")}
    done = run_recipe(tmp_path, [copy])
    assert done.stdout.splitlines() == [
        f"('{topic}', '1234567890123'): event 4 follows event 0",
        f"('{topic}', '1234567890123'): event 4 does not match its ce_hash",
    ]
    prev = {**records[3], "headers": {**records[3]["headers"], ce.H_PREVHASH: "f" * 64}}
    done = run_recipe(tmp_path, [*records[:3], prev])
    assert done.stdout.splitlines() == [
        f"('{topic}', '1234567890123'): event 4's ce_prevhash is not event 3's hash"
    ]


async def test_new_events_also_verify_in_the_legacy_form() -> None:
    # Why the change needs no .v2 topics: an auditor that predates it still verifies them.
    written = await platform_records(every_event())
    legacy = [
        {"topic": r["topic"], "key": r["key"], "payload": r["value"],
         "headers": {k: v for k, v in r["headers"] if k != ce.H_HASHCANON}}
        for r in written
    ]  # fmt: skip
    assert findings(legacy) == []


async def test_the_outbox_refuses_an_integer_json_readers_would_round() -> None:
    from contracts.codec import UnrepresentableEvent
    from contracts.registry import EnterpriseUpdated
    from tests.support.event_samples import sample

    event = sample(EnterpriseUpdated).model_copy(update={"investment_rupiah": 2**53})
    with pytest.raises(UnrepresentableEvent, match="EnterpriseUpdated cannot be written"):
        await platform_records([event])


_JSON = st.recursive(
    st.none() | st.booleans() | st.text()
    | st.integers(min_value=-(2**53) + 1, max_value=2**53 - 1)
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(_JSON)
def test_the_quick_canonical_forms_agree_with_the_jcs_library(value: Any) -> None:
    # canonical_json and payload_is_canonical take the C json module where the two forms
    # cannot differ; whatever the value, they must answer as RFC 8785 itself does.
    from contracts.chain import payload_is_canonical

    try:
        expected = rfc8785.dumps(value)
    except ValueError:  # e.g. lone surrogates: neither writes them
        with pytest.raises(ValueError):
            canonical_json(value)
        return
    assert canonical_json(value).encode() == expected
    assert payload_is_canonical(expected)
    spaced = json.dumps(value, indent=1, ensure_ascii=False).encode("utf-8", "surrogatepass")
    assert payload_is_canonical(spaced) == (spaced == expected)
