"""``ikm registry import-partners`` / ``import-mous`` against the real registry on a real port
(real broker, SQLite): the CSV rows become partners and signed MoUs, a file sent again
changes nothing, rejected rows land in the error report."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from ikm_cli.main import app as ikm_app
from ikmkit.service.runtime import create_service_app
from ikmkit.store.sqlite import SqliteStore
from services.registry.main import definition
from services.registry.settings import RegistrySettings
from tests.support.registry_api import new_partner_id
from tests.support.served import serve
from tests.support.values import random_nib

PARTNER_HEADER = "partner_id,name,partner_type,province,regency,member_count\n"
MOU_HEADER = "mou_id,title,scope,parties,valid_from,valid_until,signed_on,document_ref,province\n"


@pytest.fixture(scope="module")
def registry_url(kafka: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    store = SqliteStore(tmp_path_factory.mktemp("registry-cli") / "registry.db")
    settings = RegistrySettings(kafka_bootstrap_servers=kafka)
    with serve(create_service_app(definition(settings, store=store))) as url:
        yield url


@pytest.fixture(autouse=True)
def no_ambient_target(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("IKM_URL", "IKM_REGISTRY_URL", "IKM_TOKEN", "IKM_JWT_SECRET"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr("ikm_cli.state.STATE_FILE", tmp_path / "no-stack.json")


def ikm(*args: str) -> Result:
    return CliRunner().invoke(ikm_app, list(args))


def test_partners_then_mous_are_imported_from_csv_files(registry_url: str, tmp_path: Path) -> None:
    smk, astra, bkti = new_partner_id(), new_partner_id(), new_partner_id()
    partners = tmp_path / "partners.csv"
    partners.write_text(
        PARTNER_HEADER
        + f"{smk},SMK N 2 Depok,vocational_school,34,3404,\n"
        + f"{astra},PT Astra,company,,,\n"
        + f"{bkti},PII BKTI,association,31,,290\n"
        + "Bad Id,,company,,,\n"
    )
    result = ikm("registry", "import-partners", str(partners), "--url", registry_url, "--json")
    assert result.exit_code == 1, result.output
    summed = json.loads(result.stdout)
    assert (summed["imported"], summed["rejected"]) == (3, 1)
    with (tmp_path / "partners.errors.csv").open() as report:
        rows = list(csv.reader(report))
    assert rows[0] == ["row", "partner_id", "field", "rule", "message"]
    assert {(r[0], r[1], r[3]) for r in rows[1:]} == {
        ("4", "Bad Id", "partner_id_format"),
        ("4", "Bad Id", "missing"),
    }

    mous = tmp_path / "mous.csv"
    mous.write_text(
        MOU_HEADER
        + f",Link and match,vocational_link_and_match,ministry:witness;{smk};{astra},"
        + "2026-01-01,2030-12-31,2026-01-02,NK/LAM/1,34\n"
        + f"lam-2,Pelatihan,training,ministry;{bkti},2026-01-01,2030-12-31,,,\n"
    )
    first = ikm("registry", "import-mous", str(mous), "--url", registry_url, "--batch", "1")
    assert first.exit_code == 0, first.output
    assert "2 imported" in first.stderr
    again = ikm("registry", "import-mous", str(mous), "--url", registry_url, "--json")
    assert again.exit_code == 0, again.output
    answer = json.loads(again.stdout)
    assert (answer["imported"], answer["existing"]) == (0, 2)
    assert [r["mou_id"] for r in answer["results"]][1] == "lam-2"
    assert (tmp_path / "mous.errors.csv").read_text().splitlines() == [
        "row,mou_id,field,rule,message"
    ]


ENTERPRISE_HEADER = "nib,name,owner_name,province,regency,kbli,workforce,investment_rupiah\n"


def enterprise_line(nib: str, name: str, workforce: str = "5") -> str:
    return f"{nib},{name},Budi,34,3471,29300,{workforce},100000000\n"


def test_a_nib_repeated_in_a_later_batch_is_rejected_as_in_one_request(
    registry_url: str, tmp_path: Path
) -> None:
    first, second = random_nib(), random_nib()
    file = tmp_path / "ikm.csv"
    file.write_text(
        ENTERPRISE_HEADER
        + enterprise_line(first, "CV Satu")
        + enterprise_line(second, "CV Dua", workforce="²")  # was a traceback in the CLI
        + enterprise_line(first, "CV Satu Lagi")
    )
    answers = []
    for batch in ("3", "2", "1"):  # one request (the registry's own answer), then batches
        result = ikm(
            "registry", "import", str(file), "--url", registry_url, "--json", "--batch", batch
        )
        assert result.exit_code == 1, result.output
        answers.append(json.loads(result.stdout))
    # Every batch size answers as one request does: row 3 was "existing" when sent in a later
    # batch than row 1 (its cells dropped without a word), the registry's duplicate_in_file in one.
    for answer in answers:
        statuses = [r["status"] for r in answer["results"]]
        assert statuses[1:] == ["rejected", "rejected"], answer
        assert answer["existing"] + answer["imported"] == 1 and answer["rejected"] == 2
        assert [e["rule"] for e in answer["results"][1]["errors"]] == ["int_parsing"]
        assert [e["rule"] for e in answer["results"][2]["errors"]] == ["duplicate_in_file"]
    with (tmp_path / "ikm.errors.csv").open() as report:
        rows = list(csv.reader(report))
    assert [(r[0], r[1], r[3]) for r in rows[1:]] == [
        ("2", second, "int_parsing"),
        ("3", first, "duplicate_in_file"),
    ]
