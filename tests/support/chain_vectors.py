"""Builds ``contracts/vectors/chain-vectors.json``, the published hash-chain test vectors.

``python -m tests.support.chain_vectors`` rewrites the file; a test checks the committed
file is what this builds, so the vectors always come from the platform's own code.

- ``canonicalization``: JSON text in, its RFC 8785 canonical form out (UTF-8 text) and the
  sha256 of those bytes; with the legacy form where it differs (why the chain moved).
- ``chain``: one aggregate's records spanning the change, as they are on the log: two
  legacy events (unpadded ``ce_sequence``, no ``ce_hashcanon``) then two RFC 8785 events
  written by the real outbox; each record's ``ce_hash`` is the expected result.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import rfc8785

from contracts import envelope as ce
from contracts.chain import legacy_canonical_json
from contracts.codec import chain_hash, to_headers
from contracts.envelope import GENESIS_HASH, EnvelopeAttributes
from contracts.registry import EnterpriseSuspended, EnterpriseVerified

VECTORS_FILE = Path(__file__).resolve().parents[2] / "contracts" / "vectors" / "chain-vectors.json"

CANONICALIZATION_INPUTS = {
    "float that is an integer": '{"amount":1.0}',
    "exponents and tiny numbers": "[1e21,1E+2,0.000001,1e-7,-0.0,3.14159]",
    "integer above 2^53 (read as an IEEE double)": "[9007199254740993]",
    "keys outside the BMP sort by UTF-16 code units": (
        '{"\\ufb33":3,"\\ud83d\\ude00":2,"\\u20ac":1}'
    ),
    "nested objects, arrays and literals": '{"b":[true,false,null,{"z":1,"a":"x"}],"a":{}}',
    "escapes: control characters, quote, backslash, U+2028, DEL, non-ASCII": (
        '{"s":"tab\\t nl\\n bell\\u0007 quote\\" back\\\\ ls\\u2028 del\\u007f é ✓ 😀"}'
    ),
    "a platform payload": (
        '{"nib":"1234567890123","province":"34","status":"active",'
        '"verified_at":"2026-03-01T00:00:00Z","verified_by":"officer-1"}'
    ),
}

_AT = datetime(2026, 3, 1, tzinfo=UTC)
_NIB = "1234567890123"


def _canonicalization() -> list[dict[str, Any]]:
    vectors = []
    for name, text in CANONICALIZATION_INPUTS.items():
        value = json.loads(text, parse_int=float)  # JCS: every JSON number is an IEEE double
        canonical = rfc8785.dumps(value)
        legacy = legacy_canonical_json(json.loads(text))
        vector = {
            "name": name,
            "input": text,
            "canonical": canonical.decode(),
            "sha256": hashlib.sha256(canonical).hexdigest(),
        }
        if legacy.encode() != canonical:
            vector["legacy"] = legacy
        vectors.append(vector)
    return vectors


def _legacy_record(n: int, previous: str) -> tuple[dict[str, Any], str]:
    """An event as the platform wrote them before RFC 8785 (its payload carries a field
    no contract reads, as a newer producer may send, where the two forms differ)."""
    event = EnterpriseVerified(nib=_NIB, province="34", verified_by=f"officer-{n}", verified_at=_AT)
    payload = legacy_canonical_json({**event.model_dump(mode="json"), "score": 1.0})
    attrs = EnvelopeAttributes(
        id=f"00000000-0000-4000-8000-00000000000{n}", type=event.ce_type(),
        source="/ikm/registry", time=_AT + timedelta(minutes=n), subject=_NIB, region="34",
        sequence=n, hash="",
    )  # fmt: skip
    attrs = attrs.model_copy(update={"hash": chain_hash(previous, attrs, payload)})
    headers = {k: v.decode() for k, v in to_headers(attrs)}
    headers[ce.H_SEQUENCE] = str(n)  # unpadded, as then
    return _record(headers, payload), attrs.hash


def _record(headers: dict[str, str], payload: str) -> dict[str, Any]:
    return {"topic": EnterpriseVerified.TOPIC, "key": _NIB, "headers": headers, "payload": payload}


async def _current_records(previous: str) -> list[dict[str, Any]]:
    """Events 3 and 4, stamped by the real outbox on a stream whose head is event 2."""
    from ikmkit.messaging.outbox import OUTBOX, OUTBOX_COLLECTIONS, OUTBOX_STREAMS, Outbox
    from ikmkit.store.sqlite import SqliteStore

    store = SqliteStore(":memory:")
    await store.open(list(OUTBOX_COLLECTIONS))
    stream_id = f"{EnterpriseVerified.TOPIC}|{_NIB}"
    events = [
        EnterpriseSuspended(
            nib=_NIB,
            province="34",
            reason="audit 😀 \u2028 finding",
            suspended_by="officer-3",
            suspended_at=_AT,
        ),
        EnterpriseVerified(nib=_NIB, province="34", verified_by="officer-4", verified_at=_AT),
    ]
    try:
        async with store.transaction() as tx:
            await tx.insert(OUTBOX_STREAMS, {"id": stream_id, "sequence": 2, "hash": previous})
            outbox = Outbox("/ikm/registry")
            for n, event in enumerate(events, start=3):
                at = _AT + timedelta(minutes=n)
                await outbox.add(
                    tx, event, event_id=f"00000000-0000-4000-8000-00000000000{n}", at=at
                )
        async with store.transaction() as tx:
            rows = (await tx.find(OUTBOX, order_by=[("sequence", 1)], limit=10)).items
    finally:
        await store.close()
    return [_record(dict(row["headers"]), row["payload"]) for row in rows]


def build() -> dict[str, Any]:
    records, previous = [], GENESIS_HASH
    for n in (1, 2):
        record, previous = _legacy_record(n, previous)
        records.append(record)
    records += asyncio.run(_current_records(previous))
    return {
        "description": "IKM event hash chain test vectors; see docs/contracts.md.",
        "canonicalization": _canonicalization(),
        "chain": {"genesis": GENESIS_HASH, "records": records},
    }


def render() -> str:
    return json.dumps(build(), indent=2) + "\n"


if __name__ == "__main__":
    VECTORS_FILE.parent.mkdir(exist_ok=True)
    VECTORS_FILE.write_text(render(), encoding="utf-8")
    print(f"wrote {VECTORS_FILE}")
