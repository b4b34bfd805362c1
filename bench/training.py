"""Training at the ministry's 2020 scale: 156 webinars with 13,871 participants.

The training service runs in-process on the embedded stack (SQLite store, the resolved Kafka
broker) and is driven through its HTTP API: schedule the webinars, bulk-enroll their
participants (one request per webinar), record attendance, close them (certificates), then
read ``GET /stats``. Figures: seconds to load (schedule + enroll), seconds until every event
of the load is on Kafka, seconds to complete, and the stats as reported.

Participants: a third are IKM owners linked to NIBs (the enterprise replica is seeded with
``EnterpriseRegistered`` facts through the use case its consumer runs, so the bench does not
time the registry), the rest students and civil servants spread over 14 provinces, and about
one in a hundred a foreign participant.
"""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI

from bench.common import Figure
from contracts.envelope import EnvelopeAttributes
from contracts.registry import EnterpriseRegistered, OwnerContact
from ikmkit.auth import issue_token
from ikmkit.messaging.outbox import outbox_backlog
from ikmkit.service.runtime import create_service_app
from ikmkit.service.settings import DEV_JWT_SECRET
from ikmkit.store.sqlite import SqliteStore
from services.training import replicas
from services.training.main import definition
from services.training.settings import TrainingSettings
from services.training.store import TrainingUnit

WEBINARS = 156
PARTICIPANTS = 13_871
TARGET_SECONDS = 60.0
PROVINCES = ["11", "12", "31", "32", "33", "34", "35", "36", "51", "52", "63", "64", "73", "91"]
FOREIGN = ["MY", "TH", "PH", "VN", "SG"]
ENTERPRISES = 2_000
NAME = "training"


def _nib(i: int) -> str:
    return f"9{i:012d}"


def _participant(i: int) -> dict[str, Any]:
    if i % 3 == 0:
        return {
            "name": f"Pemilik IKM {i}",
            "kind": "ikm_owner",
            "nib": _nib(i % ENTERPRISES),
            "email": f"owner{i}@ikm.example.id",
        }
    if i % 97 == 0:
        return {
            "name": f"Participant {i}",
            "kind": "other",
            "country": FOREIGN[i % len(FOREIGN)],
            "preferred_language": "en",
        }
    kind = "student" if i % 2 else "civil_servant"
    return {
        "name": f"Peserta {i}",
        "kind": kind,
        "province": PROVINCES[i % len(PROVINCES)],
        "email": f"peserta{i}@example.id",
    }


def _webinar(n: int) -> dict[str, Any]:
    day = date(2020, 4, 1) + timedelta(days=n * 2)
    return {
        "course_id": _course_id(n),
        "title": f"Webinar #SemuanyaAdaDisini {n + 1}",
        "kind": "webinar",
        "organizer_id": "ministry",
        "start_date": day.isoformat(),
        "end_date": day.isoformat(),
        "online_url": f"https://webinar.kemenperin.example/{n}",
        "capacity": 500,
    }


async def _seed_enterprise_replica(store: SqliteStore) -> None:
    """The facts the registry would have published: the enterprises the owners belong to."""
    async with store.transaction() as uow:
        for i in range(ENTERPRISES):
            event = EnterpriseRegistered(
                nib=_nib(i),
                province=PROVINCES[i % len(PROVINCES)],
                name=f"IKM {i}",
                regency=f"{PROVINCES[i % len(PROVINCES)]}01",
                kbli="10792",
                directorate="food_furniture_wood",
                size_class="small",
                owner=OwnerContact(name=f"Pemilik IKM {i}"),
                registered_at=datetime.now(UTC),
            )
            meta = EnvelopeAttributes(
                id=f"seed-{i}",
                type=event.ce_type(),
                source="/ikm/registry",
                time=datetime.now(UTC),
                subject=event.nib,
                sequence=1,
                hash="0" * 64,
            )
            await replicas.on_enterprise_event(event, meta, TrainingUnit(uow))


async def _wait_for_outbox(store: SqliteStore) -> None:
    while (await outbox_backlog(store)).pending:  # noqa: ASYNC110 (a store count, no event)
        await asyncio.sleep(0.05)


def _course_id(n: int) -> str:
    return f"webinar-2020-{n:03d}"


def _client(app: FastAPI) -> httpx.AsyncClient:
    """A ministry official's client of the in-process app."""
    token = issue_token(DEV_JWT_SECRET, subject="bench", role="ministry")
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://training",
        headers={"Authorization": "Bearer " + token},
        timeout=120,
    )


async def _load(client: httpx.AsyncClient, per_webinar: list[list[int]]) -> int:
    """Schedule every webinar and bulk-enroll its participants; how many were enrolled."""
    enrolled = 0
    for n in range(WEBINARS):
        r = await client.post("/courses", json=_webinar(n))
        r.raise_for_status()
        rows = [_participant(i) for i in per_webinar[n]]
        r = await client.post(
            f"/courses/{_course_id(n)}/enrollments/bulk", json={"participants": rows}
        )
        r.raise_for_status()
        outcome = r.json()
        if outcome["errors"]:
            raise RuntimeError(f"refused rows: {outcome['errors'][:3]}")
        enrolled += outcome["enrolled"]
    return enrolled


async def _complete(client: httpx.AsyncClient, course: str) -> None:
    """Record one session's attendance, then close the course (certificates)."""
    enrolled = await client.get(
        f"/courses/{course}/participants", params={"status": "enrolled", "limit": 1000}
    )
    ids = [p["participant_id"] for p in enrolled.json()["items"]]
    # Most attended: every 10th registrant did not show up.
    marks = [{"participant_id": pid, "present": k % 10 != 0} for k, pid in enumerate(ids)]
    attendance = {"session_id": "s1", "marks": marks}
    (await client.post(f"/courses/{course}/attendance", json=attendance)).raise_for_status()
    (await client.post(f"/courses/{course}/complete")).raise_for_status()


async def run(kafka: str, workdir: Path) -> list[Figure]:
    store = SqliteStore(workdir / "training.db")
    settings = TrainingSettings(kafka_bootstrap_servers=kafka, outbox_batch_size=5000)
    app = create_service_app(definition(settings, store=store))
    per_webinar = [list(range(PARTICIPANTS))[n::WEBINARS] for n in range(WEBINARS)]
    async with app.router.lifespan_context(app):
        await _seed_enterprise_replica(store)
        async with _client(app) as client:
            started = time.perf_counter()
            enrolled = await _load(client, per_webinar)
            loaded = time.perf_counter() - started
            await _wait_for_outbox(store)
            on_kafka = time.perf_counter() - started

            started = time.perf_counter()
            for n in range(WEBINARS):
                await _complete(client, _course_id(n))
            completed = time.perf_counter() - started
            await _wait_for_outbox(store)
            stats = (await client.get("/stats")).json()
    print(json.dumps(stats, indent=2))
    print(
        f"loaded {WEBINARS} webinars / {enrolled} participants in {loaded:.2f}s; "
        f"all on Kafka after {on_kafka:.2f}s; completed in {completed:.2f}s"
    )
    return _figures(loaded, on_kafka, completed, stats)


def _figures(
    loaded: float, on_kafka: float, completed: float, stats: dict[str, Any]
) -> list[Figure]:
    return [
        Figure(
            NAME,
            f"load {WEBINARS} webinars + {PARTICIPANTS} participants",
            loaded,
            "s",
            f"< {TARGET_SECONDS:.0f} s",
            loaded < TARGET_SECONDS,
        ),
        Figure(NAME, "load until every event is on Kafka", on_kafka, "s"),
        Figure(NAME, "attendance + completion + certificates", completed, "s"),
        Figure(
            NAME,
            "participants reported by /stats",
            stats["participants"],
            "",
            str(PARTICIPANTS),
            stats["participants"] == PARTICIPANTS,
        ),
        Figure(
            NAME,
            "webinars reported by /stats",
            stats["courses_by_kind"].get("webinar", 0),
            "",
            str(WEBINARS),
            stats["courses_by_kind"].get("webinar") == WEBINARS,
        ),
        Figure(NAME, "certificates reported by /stats", stats["certificates"], ""),
    ]
