"""Training service in-process on the real broker and both store adapters.

Registry facts (enterprises, MoUs) arrive as real events: a registry-side outbox on its own
SQLite store relays them to Kafka, and the training service consumes them.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from ikmkit.store import Store
from services.training.main import definition
from services.training.settings import TrainingSettings
from tests.support.service import auth_headers, running_service
from tests.support.training_feed import (
    MINISTRY,
    TODAY,
    course_body,
    enterprise_registered,
    eventually,
    registry_feed,
)
from tests.support.values import random_nib


async def test_course_enrollment_waitlist_and_refusals(
    kafka: str, fresh_store: Store, tmp_path: Path
) -> None:
    settings = TrainingSettings(kafka_bootstrap_servers=kafka)
    nib = random_nib()
    async with (
        registry_feed(kafka, tmp_path) as feed,
        running_service(definition(settings, store=fresh_store)) as svc,
    ):
        client = svc.client
        bad = await client.post(
            "/courses", json=course_body(end_date=TODAY.isoformat()), headers=MINISTRY
        )
        assert bad.status_code == 422
        assert bad.json()["errors"][0]["loc"] == ["body", "end_date"]
        bad = await client.post("/courses", json=course_body(capacity=0), headers=MINISTRY)
        assert (bad.status_code, bad.json()["errors"][0]["loc"]) == (422, ["body", "capacity"])
        bad = await client.post(
            "/courses", json=course_body(eligible_countries=["ID", "XX"]), headers=MINISTRY
        )
        assert bad.json()["errors"][0]["loc"] == ["body", "eligible_countries[1]"]

        created = await client.post("/courses", json=course_body(), headers=MINISTRY)
        assert created.status_code == 201, created.text
        course_id = created.json()["course_id"]

        # An IKM owner is linked to an NIB only once the registry's event has arrived.
        owner = {"name": "Siti Rahma", "kind": "ikm_owner", "nib": nib, "email": "siti@example.id"}
        early = await client.post(f"/courses/{course_id}/enrollments", json=owner, headers=MINISTRY)
        assert (
            early.status_code == 422 and early.json()["errors"][0]["rule"] == "invalid.unknown_nib"
        )
        await feed.publish(enterprise_registered(nib))

        async def enrolled() -> dict[str, Any] | None:
            r = await client.post(f"/courses/{course_id}/enrollments", json=owner, headers=MINISTRY)
            return r.json() if r.status_code == 201 else None

        first = await eventually(enrolled, "the enterprise replica")
        assert first["status"] == "enrolled" and first["province"] == "32"

        again = await client.post(f"/courses/{course_id}/enrollments", json=owner, headers=MINISTRY)
        assert again.status_code == 409
        assert again.json()["rule"] == "conflict.duplicate_enrollment"

        second = await client.post(
            f"/courses/{course_id}/enrollments",
            json={"name": "Tenzin Dorji", "kind": "civil_servant", "country": "BT"},
            headers=MINISTRY,
        )
        third = await client.post(
            f"/courses/{course_id}/enrollments",
            json={"name": "Ayesha Khan", "kind": "ikm_owner", "country": "PK", "nib": None},
            headers=MINISTRY,
        )
        assert third.status_code == 422 and third.json()["errors"][0]["loc"] == ["body", "nib"]
        third = await client.post(
            f"/courses/{course_id}/enrollments",
            json={"name": "Ayesha Khan", "kind": "civil_servant", "country": "PK"},
            headers=MINISTRY,
        )
        assert (second.json()["status"], third.json()["status"]) == ("enrolled", "waitlisted")

        cancelled = await client.delete(
            f"/courses/{course_id}/enrollments/{second.json()['participant_id']}", headers=MINISTRY
        )
        assert cancelled.status_code == 200, cancelled.text
        assert cancelled.json()["promoted_participant_id"] == third.json()["participant_id"]
        listing = await client.get(
            f"/courses/{course_id}/participants", params={"status": "enrolled"}, headers=MINISTRY
        )
        names = [p["name"] for p in listing.json()["items"]]
        assert names == ["Siti Rahma", "Ayesha Khan"]

        early_close = await client.post(f"/courses/{course_id}/complete", headers=MINISTRY)
        assert early_close.status_code == 409
        assert early_close.json()["rule"] == "conflict.not_ended"


async def test_completion_certificates_placement_and_stats(kafka: str, fresh_store: Store) -> None:
    settings = TrainingSettings(kafka_bootstrap_servers=kafka)
    async with running_service(definition(settings, store=fresh_store)) as svc:
        client = svc.client
        past = course_body(
            kind="diklat_3in1",
            title="Diklat 3in1 Operator Mesin Jahit",
            start_date=(TODAY - timedelta(days=5)).isoformat(),
            end_date=(TODAY - timedelta(days=1)).isoformat(),
            venues=["Semarang"],
            province="33",
            capacity=10,
            language="id",
            sessions=[],
        )
        course_id = (await client.post("/courses", json=past, headers=MINISTRY)).json()["course_id"]
        bulk = await client.post(
            f"/courses/{course_id}/enrollments/bulk",
            json={
                "participants": [
                    {"name": "Dewi", "kind": "student", "province": "33"},
                    {"name": "Rudi", "kind": "student", "province": "33"},
                    {"name": "Rudi", "kind": "student", "province": "33"},
                    {"name": "Nobody", "kind": "student", "province": "99"},
                ]
            },
            headers=MINISTRY,
        )
        outcome = bulk.json()
        assert outcome["enrolled"] == 2
        assert [(e["row"], e["field"]) for e in outcome["errors"]] == [
            (3, "participant"),
            (4, "province"),
        ]
        dewi, rudi = (r["participant_id"] for r in outcome["results"])
        marked = await client.post(
            f"/courses/{course_id}/attendance",
            json={
                "session_id": "s1",
                "marks": [
                    {"participant_id": dewi, "present": True},
                    {"participant_id": rudi, "present": False},
                ],
            },
            headers=MINISTRY,
        )
        assert marked.json() == {"recorded": 2}

        placement = {
            "participant_id": dewi,
            "company_partner_id": "pt-garmen",
            "position": "operator",
            "placed_on": TODAY.isoformat(),
        }  # refused before the course is complete, accepted after
        placements = f"/courses/{course_id}/placements"
        early_placement = await client.post(placements, json=placement, headers=MINISTRY)
        assert early_placement.json()["rule"] == "conflict.not_certified"

        closed = (await client.post(f"/courses/{course_id}/complete", headers=MINISTRY)).json()
        assert (closed["completed"], closed["not_completed"]) == (1, 1)
        number = closed["certificates"][0]
        check = (await client.get(f"/certificates/{number}", headers=MINISTRY)).json()
        assert check["genuine"] and check["participant_id"] == dewi
        forged = number[:-1] + ("A" if number[-1] != "A" else "B")
        assert (await client.get(f"/certificates/{forged}", headers=MINISTRY)).status_code == 404
        malformed = await client.get("/certificates/not-a-number", headers=MINISTRY)
        assert malformed.status_code == 422

        late = await client.post(
            f"/courses/{course_id}/enrollments",
            json={"name": "Late", "kind": "student", "province": "33"},
            headers=MINISTRY,
        )
        assert late.status_code == 409
        assert late.json()["rule"] == "conflict.course_finished"

        placed = await client.post(placements, json=placement, headers=MINISTRY)
        assert placed.status_code == 201, placed.text
        assert placed.json()["certificate_number"] == number
        listed = await client.get(f"/courses/{course_id}/participants", headers=MINISTRY)
        closed_out = {p["participant_id"]: p for p in listed.json()["items"]}
        assert (closed_out[dewi]["status"], closed_out[dewi]["attended"]) == (
            "completed",
            {"s1": True},
        )
        assert (closed_out[rudi]["status"], closed_out[rudi]["certificate_number"]) == (
            "not_completed",
            None,
        )

        # Another province's course and participant, to tell national from regional figures.
        elsewhere = course_body(province="31", venues=["Jakarta"], sessions=[], capacity=5)
        other_id = (await client.post("/courses", json=elsewhere, headers=MINISTRY)).json()[
            "course_id"
        ]
        joined = await client.post(
            f"/courses/{other_id}/enrollments",
            json={"name": "Andi", "kind": "student", "province": "31"},
            headers=MINISTRY,
        )
        assert joined.status_code == 201, joined.text

        national = (await client.get("/stats", headers=MINISTRY)).json()
        assert national["province_scope"] is None
        assert national["courses_by_kind"] == {"diklat_3in1": 1, "capacity_building": 1}
        assert national["participants_by_province"] == {"31": 1, "33": 2}
        assert (national["completions"], national["certificates"], national["placements"]) == (
            1,
            1,
            1,
        )
        regional_here = auth_headers("regional", province="33")
        regional_elsewhere = auth_headers("regional", province="31")
        own = (await client.get("/stats", headers=regional_here)).json()
        assert own["province_scope"] == "33" and own["courses_by_kind"] == {"diklat_3in1": 1}
        assert (own["participants"], own["participants_by_province"]) == (2, {"33": 2})
        assert (own["completions"], own["certificates"], own["placements"]) == (1, 1, 1)
        other = (await client.get("/stats", headers=regional_elsewhere)).json()
        assert (other["courses"], other["participants"], other["distinct_people"]) == (1, 1, 1)
        assert (other["completions"], other["certificates"], other["placements"]) == (0, 0, 0)
        peek = await client.get("/stats", params={"province": "33"}, headers=regional_elsewhere)
        assert (peek.status_code, peek.json()["errors"][0]["loc"][-1]) == (403, "province")

        # Another province's course does not exist for a regional officer: no read, no write.
        assert (await client.get(f"/courses/{course_id}", headers=regional_here)).status_code == 200
        for response in (
            await client.get(f"/courses/{course_id}", headers=regional_elsewhere),
            await client.get(f"/courses/{course_id}/participants", headers=regional_elsewhere),
            await client.post(
                f"/courses/{course_id}/attendance",
                json={"session_id": "s1", "marks": [{"participant_id": dewi}]},
                headers=regional_elsewhere,
            ),
        ):
            assert response.status_code == 404, response.text
