"""The ``ikm`` commands as HTTP clients, against small real HTTP servers that implement the
services' contracts (the bulk import's is ``notes/bulk_import.md``): batches, sums, row
numbers, the error report, refusals, where the URL and token come from, and what ``--json``
puts on stdout (one JSON document, nothing else) for every command that talks to a service.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import pytest
from fastapi import Body, Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from typer.testing import CliRunner, Result

from ikm_cli.main import app as ikm_app
from ikm_cli.tokens import issue_token
from ikmdev.infra import free_port
from ikmkit.auth import Caller, TokenVerifier
from ikmkit.service.errors import Forbidden, Unauthorized
from ikmkit.service.http import install_error_handlers
from ikmkit.service.settings import ServiceSettings
from tests.support.served import serve

NIBS = [f"12345678901{n:02d}" for n in range(10)]
HEADER = "nib,name,owner_name,province,regency,kbli,workforce,products\n"


async def caller(request: Request) -> Caller:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        raise Unauthorized("bearer token required")
    found, _ = TokenVerifier.from_settings(ServiceSettings(env="development")).caller(token)
    return found


CallerDep = Annotated[Caller, Depends(caller)]


@dataclass
class FakeRegistry:
    """``POST /enterprises/import`` by the contract, with a handful of the real rules."""

    registered: set[str] = field(default_factory=set)
    requests: list[list[dict[str, Any]]] = field(default_factory=list)
    unavailable: set[int] = field(default_factory=set)  # the requests answered 503 (from 1)
    seen: int = 0

    def app(self) -> FastAPI:
        api = FastAPI()
        install_error_handlers(api)

        @api.middleware("http")
        async def restarting(request: Request, call_next: Any) -> Any:
            """What a proxy answers while the service behind it restarts."""
            self.seen += 1
            if self.seen in self.unavailable:
                return JSONResponse({"detail": "no upstream"}, status_code=503)
            return await call_next(request)

        @api.post("/enterprises/import")
        async def import_enterprises(
            who: CallerDep, rows: Annotated[list[dict[str, Any]], Body(embed=True)]
        ) -> dict[str, Any]:
            if who.role not in ("ministry", "service", "regional"):
                raise Forbidden(f"role {who.role!r} may not import enterprises")
            self.requests.append(rows)
            results = [self.result(i, row, who, rows[:i]) for i, row in enumerate(rows)]
            counts = {s: sum(r["status"] == s for r in results) for s in ("imported", "existing")}
            rejected = sum(r["status"] == "rejected" for r in results)
            return {"rows": len(rows), **counts, "rejected": rejected, "results": results}

        return api

    def result(
        self, index: int, row: dict[str, Any], who: Caller, earlier: list[dict[str, Any]]
    ) -> dict[str, Any]:
        nib = str(row.get("nib", ""))
        errors = [
            {"field": f, "rule": "missing", "message": "Field required"}
            for f in ("name", "owner_name", "province", "regency", "kbli")
            if f not in row
        ]
        if not (len(nib) == 13 and nib.isdigit()):
            errors.append({"field": "nib", "rule": "nib_format", "message": "13 digits"})
        if not who.sees_province(row.get("province")):
            errors.append({"field": "province", "rule": "forbidden_province", "message": "no"})
        if not errors and any(e.get("nib") == nib for e in earlier):
            errors.append({"field": "nib", "rule": "duplicate_in_file", "message": "repeated"})
        if errors:
            return {"index": index, "nib": nib, "status": "rejected", "errors": errors}
        status = "existing" if nib in self.registered else "imported"
        self.registered.add(nib)
        return {"index": index, "nib": nib, "status": status}


@pytest.fixture
def registry() -> Iterator[tuple[FakeRegistry, str]]:
    fake = FakeRegistry()
    with serve(fake.app()) as url:
        yield fake, url


@pytest.fixture(autouse=True)
def no_ambient_target(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("IKM_URL", "IKM_REGISTRY_URL", "IKM_TOKEN", "IKM_JWT_SECRET"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr("ikm_cli.state.STATE_FILE", tmp_path / "no-stack.json")


def ikm(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(ikm_app, list(args), env=env)


def write_csv(path: Path, *lines: str) -> Path:
    path.write_text(HEADER + "".join(f"{line}\n" for line in lines))
    return path


def good(nib: str, province: str = "34") -> str:
    return f"{nib},CV {nib[-2:]},Budi,{province},{province}71,29300,12,kursi;meja"


def test_import_sends_batches_sums_the_answers_and_reports_rejected_rows(
    registry: tuple[FakeRegistry, str], tmp_path: Path
) -> None:
    fake, url = registry
    fake.registered.add(NIBS[1])
    rows = [good(NIBS[0]), good(NIBS[1]), good(NIBS[2]), good(NIBS[2]),
            "12345,CV Bad,Budi,34,3471,29300,,", good(NIBS[3])]  # fmt: skip
    file = write_csv(tmp_path / "umkm.csv", *rows)
    result = ikm("registry", "import", str(file), "--url", url, "--batch", "2", "--json")
    assert result.exit_code == 1, result.output
    summed = json.loads(result.stdout)
    assert {k: summed[k] for k in ("rows", "imported", "existing", "rejected")} == {
        "rows": 6, "imported": 3, "existing": 1, "rejected": 2,
    }  # fmt: skip
    assert [(r["row"], r["status"]) for r in summed["results"]] == [
        (1, "imported"), (2, "existing"), (3, "imported"), (4, "rejected"), (5, "rejected"),
        (6, "imported"),
    ]  # fmt: skip
    assert [len(sent) for sent in fake.requests] == [2, 2, 2]
    assert fake.requests[0][0] == {
        "nib": NIBS[0], "name": "CV 00", "owner_name": "Budi", "province": "34",
        "regency": "3471", "kbli": "29300", "workforce": 12, "products": ["kursi", "meja"],
    }  # fmt: skip
    with (tmp_path / "umkm.errors.csv").open() as report:
        assert list(csv.reader(report)) == [
            ["row", "nib", "field", "rule", "message"],
            ["4", NIBS[2], "nib", "duplicate_in_file", "repeated"],
            ["5", "12345", "nib", "nib_format", "13 digits"],
        ]
    assert "6 rows in" in result.stderr and "2 rejected" in result.stderr


def test_a_file_sent_again_changes_nothing_and_exits_0(
    registry: tuple[FakeRegistry, str], tmp_path: Path
) -> None:
    _, url = registry
    file = write_csv(tmp_path / "ok.csv", good(NIBS[4]), good(NIBS[5]))
    first = ikm("registry", "import", str(file), "--url", url)
    assert first.exit_code == 0, first.output
    again = ikm("registry", "import", str(file), "--url", url, "--json")
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout)["existing"] == 2
    errors = tmp_path / "ok.errors.csv"
    assert errors.read_text().splitlines() == ["row,nib,field,rule,message"]


def test_a_batch_a_restarting_service_did_not_answer_is_sent_again(
    registry: tuple[FakeRegistry, str], tmp_path: Path
) -> None:
    """An import of a large file outlives a rolling restart: the proxy answers 503 while no
    instance is ready. The import stopped there; a batch is safe to send again (rows already
    registered come back as existing), so it is, a few times over some seconds."""
    fake, url = registry
    fake.unavailable = {2, 3}
    file = write_csv(tmp_path / "big.csv", *(good(nib) for nib in NIBS[:6]))
    result = ikm("registry", "import", str(file), "--url", url, "--batch", "2", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["imported"] == 6
    assert [len(sent) for sent in fake.requests] == [2, 2, 2]
    assert (
        "/enterprises/import: 503 Service Unavailable: no upstream; sending it again in 0.01 s"
        in (result.stderr)
    )


def test_a_service_that_stays_unavailable_stops_the_import_after_its_tries(
    registry: tuple[FakeRegistry, str], tmp_path: Path
) -> None:
    fake, url = registry
    fake.unavailable = set(range(2, 100))
    file = write_csv(tmp_path / "down.csv", *(good(nib) for nib in NIBS[6:10]))
    result = ikm("registry", "import", str(file), "--url", url, "--batch", "2")
    assert result.exit_code == 1
    assert fake.seen == 1 + 6  # the first batch, then the second sent six times
    assert "503 Service Unavailable" in result.stderr
    assert "import stopped" in result.stderr


def test_the_target_and_token_come_from_the_environment(
    registry: tuple[FakeRegistry, str], tmp_path: Path
) -> None:
    fake, url = registry
    file = write_csv(tmp_path / "r.csv", good(NIBS[6], "34"), good(NIBS[7], "35"))
    regional = issue_token(subject="officer", role="regional", province="34")
    result = ikm(
        "registry", "import", str(file), "--json",
        env={"IKM_REGISTRY_URL": url, "IKM_TOKEN": regional},
    )  # fmt: skip
    assert result.exit_code == 1, result.output
    [_, refused] = json.loads(result.stdout)["results"]
    assert refused["errors"][0]["rule"] == "forbidden_province"
    # IKM_URL and the development ministry token: the other province's row goes in
    ministry = ikm("registry", "import", str(file), "--json", env={"IKM_URL": url})
    assert ministry.exit_code == 0, ministry.output
    assert (json.loads(ministry.stdout)["existing"], json.loads(ministry.stdout)["imported"]) == (
        1, 1,
    )  # fmt: skip
    assert len(fake.requests) == 2


def test_a_refused_request_prints_status_and_details_and_exits_1(
    registry: tuple[FakeRegistry, str], tmp_path: Path
) -> None:
    fake, url = registry
    file = write_csv(tmp_path / "e.csv", good(NIBS[8]))
    enterprise = issue_token(subject="owner", role="enterprise", nib=NIBS[8])
    result = ikm("registry", "import", str(file), "--url", url, "--token", enterprise, "--json")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "403 Forbidden: [forbidden]: role 'enterprise' may not import enterprises" in (
        result.stderr
    )
    assert fake.requests == []


def test_a_missing_column_is_an_error_before_anything_is_sent(
    registry: tuple[FakeRegistry, str], tmp_path: Path
) -> None:
    fake, url = registry
    file = tmp_path / "bad.csv"
    file.write_text("nib,name\n1234567890123,CV\n")
    result = ikm("registry", "import", str(file), "--url", url)
    assert result.exit_code == 2
    assert "lacks columns: owner_name, province, regency, kbli" in result.stderr
    assert fake.requests == []


def test_an_unreachable_service_is_named(tmp_path: Path) -> None:
    file = write_csv(tmp_path / "u.csv", good(NIBS[9]))
    url = f"http://127.0.0.1:{free_port()}"
    result = ikm("registry", "import", str(file), "--url", url)
    assert result.exit_code == 1
    assert f"cannot reach {url}/enterprises/import: ConnectError" in result.stderr


# ---------------------------------------------- --json on every command that talks to a service

DEAD = {"id": "n1", "event_type": "EnterpriseRegistered", "recipient": "enterprise:1",
        "channel": "email", "attempts": 8, "redrives": 0, "last_error": "550"}  # fmt: skip
PARKED = {"id": "e1", "topic": "t", "key": "k", "sequence": 1, "size_bytes": 9, "held_behind": 0,
          "parked_at": "2026-01-01T00:00:00Z", "reason": "too large"}  # fmt: skip


def fake_services() -> FastAPI:
    """One server answering for notify, training and any service's outbox operations."""
    api = FastAPI()
    install_error_handlers(api)
    answers: dict[tuple[str, str], Any] = {
        ("GET", "/dead"): {"items": [DEAD], "next_cursor": None},
        ("POST", "/dead/redrive"): {"redriven": ["n1"], "count": 1},
        ("GET", "/deliveries"): {
            "summary": "told 1 of 1",
            "pending": 0,
            "dead": 0,
            "notifications": [],
        },
        ("GET", "/ops/outbox"): {
            "service": "notify",
            "pending": 0,
            "parked": 1,
            "oldest_pending_age_seconds": 0,
            "last_log_check": None,
        },
        ("GET", "/ops/outbox/parked"): {"items": [PARKED]},
        ("POST", "/ops/outbox/parked/e1/retry"): {"partition": 0, "offset": 7, "released": 2},
        ("POST", "/ops/outbox/republish"): {"republishing": 3},
        ("POST", "/ops/outbox/verify"): {"clean": True},
        ("GET", "/stats"): {"courses": 1, "province_scope": None},
        ("GET", "/certificates/C-1"): {"number": "C-1", "genuine": True},
        ("POST", "/courses/c1/enrollments/bulk"): {"enrolled": 1, "waitlisted": 0, "errors": []},
    }

    @api.api_route("/{path:path}", methods=["GET", "POST"])
    async def answer(path: str, request: Request, who: CallerDep) -> Any:
        if who.role != "ministry":
            raise Forbidden(f"role {who.role!r} may not do this; needs one of ministry")
        return answers[(request.method, f"/{path}")]

    return api


@pytest.fixture(scope="module")
def services_url() -> Iterator[str]:
    with serve(fake_services()) as url:
        yield url


COMMANDS = [
    (["notify", "dead", "list"], lambda doc: doc == [DEAD]),
    (["notify", "dead", "redrive", "n1"], lambda doc: doc["count"] == 1),
    (["notify", "deliveries", "ev-1"], lambda doc: doc["summary"] == "told 1 of 1"),
    (["outbox", "status"], lambda doc: doc["parked"] == 1),
    (["outbox", "parked"], lambda doc: doc == [PARKED]),
    (["outbox", "retry", "e1"], lambda doc: doc["released"] == 2),
    (["outbox", "republish", "--topic", "t"], lambda doc: doc["republishing"] == 3),
    (["outbox", "verify"], lambda doc: doc["clean"] is True),
    (["training", "stats"], lambda doc: doc["courses"] == 1),
    (["training", "verify", "C-1"], lambda doc: doc["genuine"] is True),
]


@pytest.mark.parametrize(("args", "check"), COMMANDS, ids=[" ".join(c[0]) for c in COMMANDS])
def test_json_is_the_result_alone_on_stdout(services_url: str, args: list[str], check: Any) -> None:
    result = ikm(*args, "--url", services_url, "--json")
    assert result.exit_code == 0, result.output
    assert check(json.loads(result.stdout))


def test_without_json_the_result_is_shown_for_people(services_url: str) -> None:
    status = ikm("outbox", "status", "--url", services_url)
    assert status.stdout.strip() == "notify: 0 pending (oldest 0s), 1 parked; log not checked yet"
    dead = ikm("notify", "dead", "list", "--url", services_url)
    assert "1 dead notification(s)" in dead.stdout and "│ n1 │" in dead.stdout


def test_enroll_json_is_the_summed_outcome(services_url: str, tmp_path: Path) -> None:
    file = tmp_path / "p.csv"
    file.write_text("name,email\nAni,ani@example.id\n")
    result = ikm("training", "enroll", "c1", str(file), "--url", services_url, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"enrolled": 1, "waitlisted": 0, "refused": []}
    assert "enrolled 1, waitlisted 0, refused 0" in result.stderr


def test_every_client_refusal_reads_the_same(services_url: str) -> None:
    regional = issue_token(subject="o", role="regional", province="34")
    for args in (["notify", "dead", "list"], ["outbox", "status"], ["training", "stats"]):
        result = ikm(*args, "--url", services_url, "--token", regional, "--json")
        assert result.exit_code == 1
        assert result.stdout == ""
        assert result.stderr.strip() == (
            "error: 403 Forbidden: [forbidden]: role 'regional' may not do this; "
            "needs one of ministry"
        )


def test_a_batch_over_the_body_limit_is_sent_again_in_halves(tmp_path: Path) -> None:
    fake = FakeRegistry()
    api = fake.app()

    @api.middleware("http")
    async def at_most_two_rows(request: Request, call_next: Any) -> Any:
        if int(request.headers.get("content-length", "0")) > 400:
            too_large = {"status": 413, "detail": "too large", "rule": "too_large.body"}
            return JSONResponse(too_large, 413, media_type="application/problem+json")
        return await call_next(request)

    file = write_csv(tmp_path / "big.csv", *(good(nib) for nib in NIBS[:5]))
    with serve(api) as url:
        result = ikm("registry", "import", str(file), "--url", url, "--batch", "5", "--json")
    assert result.exit_code == 0, result.output
    summed = json.loads(result.stdout)
    assert summed["imported"] == 5
    assert [r["row"] for r in summed["results"]] == [1, 2, 3, 4, 5]
    assert all(len(sent) <= 2 for sent in fake.requests)
