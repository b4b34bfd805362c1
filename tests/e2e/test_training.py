"""End to end over the running stack (separate processes, real broker): the KSST capacity
building scenario with its waitlist, the MoU gate for mentors driven through the registry's
HTTP API, and the CLI's bulk enrollment from CSV."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from tests.support.service import auth_headers
from tests.support.stack import Stack
from tests.support.values import random_nib

MINISTRY = auth_headers("ministry")
COLOMBO_PLAN = ["AF", "BD", "BT", "IN", "LA", "MM", "NP", "PK", "LK", "ID"]


def eventually[T](probe: Callable[[], T | None], what: str, timeout: float = 30) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = probe()
        if found is not None:
            return found
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def register_enterprise(registry: httpx.Client, nib: str) -> None:
    response = registry.post(
        "/enterprises",
        json={
            "nib": nib,
            "name": "CV Batik Sekar",
            "owner_name": "Sri Wahyuni",
            "owner_email": "sri@example.id",
            "province": "34",
            "regency": "3471",
            "kbli": "13134",
            "workforce": 12,
            "investment_rupiah": 400_000_000,
        },
    )
    assert response.status_code == 201, response.text


def test_ksst_capacity_building_waitlist(stack: Stack) -> None:
    nib = random_nib()
    start = datetime.now(UTC).date() + timedelta(days=30)
    with (
        httpx.Client(base_url=stack.urls["training"], headers=MINISTRY) as training,
        httpx.Client(base_url=stack.urls["registry"], headers=MINISTRY) as registry,
    ):
        register_enterprise(registry, nib)
        course = training.post(
            "/courses",
            json={
                "title": "Capacity Building Program on Enhancing the Development of SMI",
                "kind": "capacity_building",
                "organizer_id": "ministry",
                "co_organizer_ids": ["setneg", "colombo-plan-secretariat"],
                "start_date": start.isoformat(),
                "end_date": (start + timedelta(days=12)).isoformat(),
                "venues": ["Jakarta", "Bandung"],
                "province": "31",
                "eligible_countries": COLOMBO_PLAN,
                "capacity": 20,
                "language": "en",
                "sessions": [
                    {"session_id": "opening", "title": "Opening", "day": start.isoformat()},
                    *(
                        {
                            "session_id": host.lower(),
                            "title": f"Site visit {host}",
                            "kind": "site_visit",
                            "host": host,
                            "day": (start + timedelta(days=2 + i)).isoformat(),
                        }
                        for i, host in enumerate(["BBT", "BBLM", "BBPK", "B4T", "BBK"])
                    ),
                ],
            },
        )
        assert course.status_code == 201, course.text
        course_id = course.json()["course_id"]

        # The Indonesian IKM owner is linked to the NIB the registry just published.
        def owner_enrolled() -> dict[str, Any] | None:
            r = training.post(
                f"/courses/{course_id}/enrollments",
                json={"name": "Sri Wahyuni", "kind": "ikm_owner", "nib": nib, "country": "ID"},
            )
            return r.json() if r.status_code == 201 else None

        owner = eventually(owner_enrolled, "the enterprise to reach training")
        assert owner["province"] == "34"
        seats = [owner]
        for i in range(19):
            country = COLOMBO_PLAN[i % 10]
            r = training.post(
                f"/courses/{course_id}/enrollments",
                json={
                    "name": f"Delegate {i} of {country}",
                    "kind": "civil_servant",
                    "country": country,
                    "preferred_language": "en",
                },
            )
            assert r.status_code == 201, r.text
            seats.append(r.json())
        assert {s["status"] for s in seats} == {"enrolled"}
        assert {s["country"] for s in seats} == set(COLOMBO_PLAN)

        outsider = training.post(
            f"/courses/{course_id}/enrollments",
            json={"name": "Visitor", "kind": "other", "country": "FR"},
        )
        assert outsider.status_code == 422
        assert outsider.json()["errors"][0]["rule"] == "invalid.not_eligible"

        twenty_first = training.post(
            f"/courses/{course_id}/enrollments",
            json={"name": "Karma Wangchuk", "kind": "civil_servant", "country": "BT"},
        ).json()
        assert twenty_first["status"] == "waitlisted"

        leaving = seats[5]["participant_id"]
        cancelled = training.delete(f"/courses/{course_id}/enrollments/{leaving}")
        assert cancelled.json()["promoted_participant_id"] == twenty_first["participant_id"]

        enrolled = training.get(
            f"/courses/{course_id}/participants", params={"status": "enrolled"}
        ).json()["items"]
        ids = {p["participant_id"] for p in enrolled}
        assert len(ids) == 20
        assert twenty_first["participant_id"] in ids and leaving not in ids
        assert training.get(f"/courses/{course_id}").json()["waitlisted_count"] == 0


def test_mentor_needs_a_signed_mou(stack: Stack) -> None:
    nib = random_nib()
    partner_id = f"pii-bkti-{uuid.uuid4().hex[:6]}"
    today = datetime.now(UTC).date()
    assignment = {"nib": nib, "partner_id": partner_id, "mentor_name": "Ir. Hadi Santoso"}
    with (
        httpx.Client(base_url=stack.urls["training"], headers=MINISTRY) as training,
        httpx.Client(base_url=stack.urls["registry"], headers=MINISTRY) as registry,
    ):
        register_enterprise(registry, nib)
        partner = registry.post(
            "/partners",
            json={"partner_id": partner_id, "name": "PII BKTI", "partner_type": "association"},
        )
        assert partner.status_code == 201, partner.text
        mou = registry.post(
            "/mous",
            json={
                "title": "Pendampingan teknis IKM oleh PII BKTI",
                "scope": "technical_assistance",
                "parties": [{"partner_id": "ministry"}, {"partner_id": partner_id}],
                "valid_from": (today - timedelta(days=1)).isoformat(),
                "valid_until": date(today.year + 2, 12, 31).isoformat(),
                "document_ref": f"NK/{uuid.uuid4().hex[:6]}/IKMA",
            },
        )
        assert mou.status_code == 201, mou.text
        mou_id = mou.json()["mou_id"]

        def refused() -> httpx.Response | None:
            r = training.post("/mentor-assignments", json=assignment)
            return r if r.status_code == 409 else None

        refusal = eventually(refused, "the enterprise to reach training")
        assert refusal.json()["rule"] == "conflict.mou_required"

        signed = registry.post(f"/mous/{mou_id}/sign", json={})
        assert signed.status_code == 200, signed.text

        def accepted() -> dict[str, Any] | None:
            r = training.post("/mentor-assignments", json=assignment)
            return r.json() if r.status_code == 201 else None

        made = eventually(accepted, "MoUSigned to reach training")
        assert (made["mou_id"], made["status"]) == (mou_id, "active")

        terminated = registry.post(f"/mous/{mou_id}/terminate", json={"reason": "ended early"})
        assert terminated.status_code == 200, terminated.text

        def ended() -> dict[str, Any] | None:
            r = training.get(f"/mentor-assignments/{made['id']}")
            return r.json() if r.json()["status"] == "ended" else None

        assert eventually(ended, "the assignment to end")["end_reason"] == "mou_terminated"
        again = training.post("/mentor-assignments", json=assignment)
        assert again.json()["rule"] == "conflict.mou_terminated"


def test_cli_bulk_enrollment_reports_refused_rows(stack: Stack, tmp_path: Path) -> None:
    with httpx.Client(base_url=stack.urls["training"], headers=MINISTRY) as training:
        course = training.post(
            "/courses",
            json={
                "title": "Webinar e-Smart IKM",
                "kind": "webinar",
                "organizer_id": "ministry",
                "start_date": "2020-06-10",
                "end_date": "2020-06-10",
                "online_url": "https://webinar.example/esmart",
                "capacity": 3,
            },
        )
        course_id = course.json()["course_id"]
        csv_file = tmp_path / "peserta.csv"
        csv_file.write_text(
            "name,email,kind,province,country\n"
            "Ani,ani@example.id,student,32,ID\n"
            "Budi,budi@example.id,civil_servant,33,ID\n"
            "Cici,cici@example.id,student,99,ID\n"
            "Dodi,dodi@example.id,student,35,ID\n"
            "Eka,eka@example.id,student,36,ID\n"
        )
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "ikm_cli.main",
                "training",
                "enroll",
                course_id,
                str(csv_file),
                "--url",
                stack.urls["training"],
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert result.returncode == 2, result.stderr
        assert "enrolled 3, waitlisted 1, refused 1" in result.stderr
        report = (tmp_path / "peserta.errors.csv").read_text().splitlines()
        assert report[1].startswith("4,province,province_unknown,")
        stats = training.get("/stats").json()
        assert stats["courses_by_kind"]["webinar"] >= 1

        # The webinar is over: close it and check the certificates with the CLI.
        people = training.get(f"/courses/{course_id}/participants", params={"status": "enrolled"})
        marks = [{"participant_id": p["participant_id"]} for p in people.json()["items"]]
        marked = training.post(
            f"/courses/{course_id}/attendance", json={"session_id": "s1", "marks": marks}
        )
        assert marked.status_code == 200, marked.text
        closed = training.post(f"/courses/{course_id}/complete").json()
        number = closed["certificates"][0]
        verified = ikm("verify", number, "--url", stack.urls["training"])
        assert verified.returncode == 0, verified.stderr
        assert json.loads(verified.stdout)["genuine"] is True
        forged = number[:-1] + ("A" if number[-1] != "A" else "B")
        assert ikm("verify", forged, "--url", stack.urls["training"]).returncode == 1

        regional = auth_headers("regional", province="32")["Authorization"].split()[1]
        scoped = ikm("stats", "--url", stack.urls["training"], "--token", regional)
        assert scoped.returncode == 0, scoped.stderr
        figures = json.loads(scoped.stdout)
        assert figures["province_scope"] == "32" and figures["certificates"] >= 1
        assert set(figures["participants_by_province"]) == {"32"}
        peek = ikm(
            "stats", "--province", "33", "--url", stack.urls["training"], "--token", regional
        )
        assert peek.returncode == 1 and "other_province" in peek.stderr


def ikm(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ikm_cli.main", "training", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
