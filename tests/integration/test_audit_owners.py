"""``ikm audit replay`` hears a topic only from its owner, as the consumers do: on the real
broker, an impostor's events on the registry's topic are ``forged``, and the registry's
public key checks them whatever ``ce_source`` they claim (they were let through as "all
good" before: no key was given for the impostor's source). A ``--public-key`` for a source
no service publishes as is refused (it checked nothing, silently)."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from pathlib import Path

from typer.testing import CliRunner

from contracts.registry import ENTERPRISE_TOPIC, EnterpriseVerified
from ikm_cli.main import app
from ikmkit.messaging.outbox import Outbox
from ikmkit.messaging.signing import generate_keypair, signer_from_key
from tests.support.audit_log import T0, publish_events, publish_raw, relay_events
from tests.support.audit_streams import outbox_stream
from tests.support.values import random_nib


def verified(nib: str, n: int) -> EnterpriseVerified:
    return EnterpriseVerified(nib=nib, province="34", verified_by=f"officer-{n}", verified_at=T0)


def audit(kafka: str, tmp_path: Path, *options: str) -> tuple[int, dict | None, str]:
    report = tmp_path / "report.json"
    report.unlink(missing_ok=True)
    result = CliRunner().invoke(
        app,
        ["audit", "replay", "--log-only", "--kafka", kafka, "--topic", ENTERPRISE_TOPIC,
         "--report", str(report), *options],
    )  # fmt: skip
    document = json.loads(report.read_text()) if report.exists() else None
    return result.exit_code, document, result.output


def test_an_impostor_on_a_topic_is_forged_and_held_to_the_owners_key(
    audit_kafka: str, tmp_path: Path
) -> None:
    private, public = generate_keypair()
    genuine, impostor = random_nib(), random_nib()
    registry = Outbox("/ikm/registry", signer=signer_from_key(private))
    asyncio.run(relay_events(audit_kafka, tmp_path, registry, [verified(genuine, 1)]))
    someone = Outbox("/ikm/impostor")  # chained as the platform chains, unsigned
    asyncio.run(relay_events(audit_kafka, tmp_path, someone, [verified(impostor, 1)]))

    code, document, output = audit(audit_kafka, tmp_path)
    assert code == 1, output
    assert document is not None
    assert document["findings_by_kind"] == {"forged": 1}
    for key in (f"/ikm/registry={public}", f"registry={public}"):
        code, document, output = audit(audit_kafka, tmp_path, "--public-key", key)
        assert code == 1, output
        assert document is not None
        assert document["findings_by_kind"] == {"forged": 1, "unsigned": 1}


def test_a_public_key_for_no_producer_or_no_key_is_refused(
    audit_kafka: str, tmp_path: Path
) -> None:
    _, public = generate_keypair()
    for value, named in (
        (f"/ikm/registy={public}", "/ikm/registy"),
        ("/ikm/registry=not*base64", "base64"),
        (f"/ikm/registry={public[:20]}AA==", "32"),
    ):
        code, document, output = audit(audit_kafka, tmp_path, "--public-key", value)
        assert (code, document) == (2, None), output
        assert named in output


def test_a_topic_neither_on_the_broker_nor_in_a_contract_is_refused(
    audit_kafka: str, tmp_path: Path
) -> None:
    """A mistyped ``--topic`` read nothing and passed (exit 0, no findings): refused now; a
    retired topic still on the broker, or a contract's topic, is read as before."""
    nib = random_nib()
    asyncio.run(relay_events(audit_kafka, tmp_path, Outbox("/ikm/registry"), [verified(nib, 1)]))
    typo = "ikm.registry.enterprises.v1"
    report = tmp_path / "typo.json"
    for command in (
        ["audit", "replay", "--log-only", "--kafka", audit_kafka, "--topic", typo,
         "--report", str(report)],
        ["audit", "trail", random_nib(), "--kafka", audit_kafka, "--topic", typo],
    ):  # fmt: skip
        result = CliRunner().invoke(app, command)
        assert result.exit_code == 2, result.output
        assert typo in result.output
    assert not report.exists()
    code, document, output = audit(audit_kafka, tmp_path, "--aggregate", nib)  # its own topic
    assert code == 0, output
    assert document is not None and document["totals"]["selected"] == 1


def test_a_type_or_province_no_event_can_have_is_refused(audit_kafka: str, tmp_path: Path) -> None:
    """Findings are reported for the selected events only: a mistyped ``--type`` or
    ``--province`` selected nothing, so a tampered log passed (exit 0)."""
    tampered = random_nib()
    asyncio.run(publish_events(audit_kafka, tmp_path, {tampered: 3}, tamper=[(tampered, 2)]))
    for option, value in (
        ("--type", "EnterpriseVerifed"),
        ("--type", "id.go.kemenperin.ikm.EnterpriseVerified"),
        ("--province", "3"),
        ("--province", "99"),
    ):
        code, document, output = audit(
            audit_kafka, tmp_path, "--aggregate", tampered, option, value
        )
        assert (code, document) == (2, None), (option, value, output)
        assert value in output
    for option, value in (
        ("--type", "EnterpriseVerified"),
        ("--type", "id.go.kemenperin.ikm.EnterpriseVerified.v1"),
        ("--type", "id.go.kemenperin.ikm.Unheard.v2"),  # a type no contract has, as logged
        ("--province", "34"),
    ):
        code, document, output = audit(
            audit_kafka, tmp_path, "--aggregate", tampered, option, value
        )
        assert code == (0 if value.endswith("Unheard.v2") else 1), (option, value, output)


def test_an_aggregates_audit_reads_its_events_under_another_key_too(
    audit_kafka: str, tmp_path: Path
) -> None:
    """``--aggregate X`` kept the records keyed X only: an event about X (``ce_subject``)
    written under another key, which the whole log's audit reports (``key_mismatch``), was
    left out, and X's audit passed."""
    nib = random_nib()
    asyncio.run(relay_events(audit_kafka, tmp_path, Outbox("/ikm/registry"), [verified(nib, 1)]))
    stray = outbox_stream([nib], 2)[1]  # its second event, under another key
    asyncio.run(publish_raw(audit_kafka, [replace(stray, key=random_nib().encode())]))
    code, document, output = audit(audit_kafka, tmp_path, "--aggregate", nib)
    assert code == 1, output
    assert document is not None
    assert document["findings_by_kind"].get("key_mismatch") == 1
    assert document["totals"]["selected"] == 2
