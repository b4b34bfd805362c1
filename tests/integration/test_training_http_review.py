"""Course ids and dates an adversarial review found accepted (session 22): a caller-chosen
``course_id`` with a ``/`` made a course no ``/courses/{course_id}`` route could reach again
(nor ``..``, NUL or a space, which no URL carries plainly), and a course in year 1 or 9999 was
scheduled and announced. Each is a 422 naming the field and the rule."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path

import httpx
import pytest

from ikmkit.store.sqlite import SqliteStore
from services.training.main import definition
from services.training.settings import TrainingSettings
from tests.support.problems import rules_of
from tests.support.service import auth_headers, running_service
from tests.support.training_feed import course_body

MINISTRY = auth_headers("ministry")


@pytest.fixture
async def client(kafka: str, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    settings = TrainingSettings(kafka_bootstrap_servers=kafka)
    service = definition(settings, store=SqliteStore(tmp_path / "training.db"))
    async with running_service(service) as running:
        yield running.client


async def test_a_chosen_course_id_is_one_a_url_path_segment_holds(
    client: httpx.AsyncClient,
) -> None:
    for course_id in ("a/b", "..", "x y", "c\x00", "a|b", "k\n"):
        r = await client.post("/courses", json=course_body(course_id=course_id), headers=MINISTRY)
        assert rules_of(r) == [("course_id", "invalid.course_id_format")], repr(course_id)
    r = await client.post("/courses", json=course_body(course_id="KSST-2026.1_b"), headers=MINISTRY)
    assert r.status_code == 201, r.text
    got = await client.get("/courses/KSST-2026.1_b", headers=MINISTRY)
    assert got.status_code == 200 and got.json()["course_id"] == "KSST-2026.1_b"


async def test_a_course_lies_in_the_platforms_years(client: httpx.AsyncClient) -> None:
    for year in (1, 1999, 2101, 9999):
        day = date(year, 6, 1).isoformat()
        body = course_body(start_date=day, end_date=day, sessions=[])
        rules = rules_of(await client.post("/courses", json=body, headers=MINISTRY))
        assert rules == [
            ("start_date", "invalid.date_out_of_range"),
            ("end_date", "invalid.date_out_of_range"),
        ], year


async def test_a_course_refused_by_its_model_is_held_to_the_course_rules_too(
    client: httpx.AsyncClient,
) -> None:
    """A day and a country the request model refuses, and an empty title, no capacity, no
    place and a webinar without its link: one answer names all six. The rules reading the
    refused day (the years, the order, the sessions) do not run."""
    body = course_body(
        start_date="2026-13-01", country="ZZ", title=" ", capacity=0, kind="webinar", venues=[]
    )
    assert rules_of(await client.post("/courses", json=body, headers=MINISTRY)) == [
        ("start_date", "date_from_datetime_parsing"),
        ("country", "invalid.iso3166"),
        ("title", "invalid.required"),
        ("capacity", "invalid.positive"),
        ("venues", "invalid.venue_or_online"),
        ("online_url", "invalid.required"),
    ]


async def test_attendance_names_every_unknown_or_repeated_participant_and_records_none(
    client: httpx.AsyncClient,
) -> None:
    """A participant marked twice in one request (present, then absent) was recorded both ways
    (two contradicting events, the last mark kept); an unknown one was a 404 naming only the
    first. Each is now its row's 422, and nothing is recorded."""
    created = await client.post("/courses", json=course_body(), headers=MINISTRY)
    course_id = created.json()["course_id"]
    person = {"name": "Ana Soares", "kind": "civil_servant", "country": "TL"}
    enrolled = await client.post(f"/courses/{course_id}/enrollments", json=person, headers=MINISTRY)
    assert enrolled.status_code == 201, enrolled.text
    pid = enrolled.json()["participant_id"]
    marks = [
        {"participant_id": pid, "present": True},
        {"participant_id": pid, "present": False},
        {"participant_id": "p-nope", "present": True},
        {"participant_id": "p-nada", "present": True},
    ]
    body = {"session_id": "opening", "marks": marks}
    r = await client.post(f"/courses/{course_id}/attendance", json=body, headers=MINISTRY)
    assert rules_of(r) == [
        ("marks[1].participant_id", "invalid.duplicate_participant"),
        ("marks[2].participant_id", "invalid.unknown_participant"),
        ("marks[3].participant_id", "invalid.unknown_participant"),
    ]
    listed = await client.get(f"/courses/{course_id}/participants", headers=MINISTRY)
    assert [p["attended"] for p in listed.json()["items"]] == [{}]


async def test_a_participant_name_with_control_characters_is_refused_in_its_row_only(
    client: httpx.AsyncClient,
) -> None:
    created = await client.post("/courses", json=course_body(capacity=5), headers=MINISTRY)
    course_id = created.json()["course_id"]
    people = [
        {"name": "Ana\x00 Soares", "kind": "civil_servant", "country": "TL"},
        {"name": "Rui Ximenes", "kind": "civil_servant", "country": "TL"},
    ]
    r = await client.post(
        f"/courses/{course_id}/enrollments/bulk", json={"participants": people}, headers=MINISTRY
    )
    assert r.status_code == 200, r.text[:300]
    outcome = r.json()
    assert [(e["row"], e["field"], e["rule"]) for e in outcome["errors"]] == [
        (1, "name", "control_character")
    ]
    assert [row["row"] for row in outcome["results"]] == [2]
    one = await client.post(f"/courses/{course_id}/enrollments", json=people[0], headers=MINISTRY)
    assert rules_of(one) == [("name", "invalid.control_character")]


async def test_a_course_sent_again_with_its_key_is_scheduled_once(
    client: httpx.AsyncClient,
) -> None:
    """Without a ``course_id`` a retried ``POST /courses`` scheduled (and announced) a second
    course; with an ``Idempotency-Key`` the retry answers the first one."""
    headers = {**MINISTRY, "Idempotency-Key": '"c0ffee00-0000-4000-8000-000000000001"'}
    body = course_body(title="Webinar Digitalisasi IKM")
    first = await client.post("/courses", json=body, headers=headers)
    again = await client.post("/courses", json=body, headers=headers)
    assert first.status_code == again.status_code == 201, again.text
    assert again.json() == first.json()
    listed = await client.get("/courses", headers=MINISTRY)
    titles = [c["title"] for c in listed.json()["items"]]
    assert titles.count("Webinar Digitalisasi IKM") == 1
