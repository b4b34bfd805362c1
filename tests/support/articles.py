"""The articles' figures loaded through the public HTTP APIs and the ``ikm`` CLI on a stack
of its own (``articles_stack``, also the dashboard tests' stack): link and match, e-Smart
IKM, webinars, the KSST course (tests/e2e/test_articles_figures.py reads them back). The
registry's loads and the training's run at the same time (``load_everything``)."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import partial
from pathlib import Path
from typing import Any

import httpx

from ikmdev.infra import EmbeddedKafka
from tests.support.service import auth_headers
from tests.support.stack import Stack, start_stack

MINISTRY = auth_headers("ministry")
MINISTRY_TOKEN = MINISTRY["Authorization"].removeprefix("Bearer ")
YEAR = datetime.now(UTC).year
SMK, COMPANIES, AGREEMENTS = 2_612, 885, 4_997
WEBINARS, WEBINAR_PARTICIPANTS = 156, 13_871
COLOMBO_PLAN = ["AF", "BD", "BT", "IN", "LA", "MM", "NP", "PK", "LK", "ID"]
PLATFORMS = {  # e-Smart IKM stores per platform: 10,200 in all
    "tokopedia": 2_400,
    "shopee": 2_300,
    "bukalapak": 2_100,
    "gojek": 1_300,
    "blibli": 1_200,
    "blanja": 900,
}
PLACES = {  # province -> regencies (Kemendagri codes without the dot)
    "31": ["3171", "3172", "3173"],
    "32": ["3201", "3204", "3273"],
    "33": ["3301", "3374"],
    "34": ["3401", "3471"],
    "35": ["3515", "3578"],
}
WEBINARS_BY_CLI = 3  # the other webinars' participants go through the bulk endpoint


def places() -> Iterator[tuple[str, str]]:
    while True:
        for province, regencies in PLACES.items():
            for regency in regencies:
                yield province, regency


def day_this_year(i: int) -> date:
    """A day of this year up to today, spread over the months by ``i``."""
    today = datetime.now(UTC).date()
    return min(date(YEAR, 1 + i % today.month, 1 + i % 28), today)


@contextmanager
def articles_stack(tmp: Path) -> Iterator[Stack]:
    """Its own embedded broker and the five services on it: nothing else publishes there."""
    broker = EmbeddedKafka().start(tmp / "kafka.log")
    try:
        stack = start_stack(broker.bootstrap_servers, tmp / "stack")
        try:
            yield stack
        finally:
            stack.stop()
    finally:
        broker.stop()


def ikm(*args: str, url: str) -> subprocess.CompletedProcess[str]:
    """``ikm ARGS --url URL`` as a separate process, signed in with a ministry token."""
    env = {**os.environ, "IKM_TOKEN": MINISTRY_TOKEN}
    return subprocess.run(
        [sys.executable, "-m", "ikm_cli.main", *args, "--url", url],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env=env,
    )


def write_csv(path: Path, rows: list[dict[str, Any]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def eventually[T](probe: Callable[[], T | None], what: str, timeout: float = 120) -> T:
    deadline = time.monotonic() + timeout
    while True:
        found = probe()
        if found is not None:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.5)


@dataclass
class Loaded:
    stack: Stack
    ksst_course: str
    durations: dict[str, float] = field(default_factory=dict)

    @property
    def insights(self) -> str:
        return self.stack.urls["insights"]


# ---------------------------------------------------------------- the loads


def load_link_and_match(stack: Stack, tmp: Path) -> None:
    spread = places()
    partners: list[dict[str, Any]] = []
    for i in range(SMK):
        province, regency = next(spread)
        partners.append(
            {
                "partner_id": f"smk-{i:04d}",
                "name": f"SMK Negeri {i + 1}",
                "partner_type": "vocational_school",
                "province": province,
                "regency": regency,
            }
        )
    for i in range(COMPANIES):
        province, regency = next(spread)
        partners.append(
            {
                "partner_id": f"pt-{i:03d}",
                "name": f"PT Industri {i + 1}",
                "partner_type": "company",
                "province": province,
                "regency": regency,
            }
        )
    registry = stack.urls["registry"]
    done = ikm(
        "registry",
        "import-partners",
        str(write_csv(tmp / "partners.csv", partners)),
        "--batch",
        "5000",
        url=registry,
    )
    assert done.returncode == 0, done.stderr
    mous = [
        {
            "mou_id": f"lm-{i:04d}",
            "title": f"Link and match SMK {i % SMK + 1} - industri {i % COMPANIES + 1}",
            "scope": "vocational_link_and_match",
            "parties": f"ministry:witness;smk-{i % SMK:04d};pt-{i % COMPANIES:03d}",
            "valid_from": f"{YEAR}-01-01",
            "valid_until": f"{YEAR + 3}-12-31",
            "signed_on": day_this_year(i).isoformat(),
            "document_ref": f"MoU/LM/{YEAR}/{i + 1:04d}",
            # carried out where the school is
            "province": partners[i % SMK]["province"],
            "regency": partners[i % SMK]["regency"],
        }
        for i in range(AGREEMENTS)
    ]
    done = ikm(
        "registry",
        "import-mous",
        str(write_csv(tmp / "mous.csv", mous)),
        "--batch",
        "5000",
        url=registry,
    )
    assert done.returncode == 0, done.stderr


def load_esmart(stack: Stack, tmp: Path) -> None:
    spread = places()
    rows = []
    n = 0
    for platform, count in PLATFORMS.items():
        for _ in range(count):
            province, regency = next(spread)
            rows.append(
                {
                    "nib": f"9{n:012d}",
                    "name": f"IKM e-Smart {n}",
                    "owner_name": f"Pemilik {n}",
                    "province": province,
                    "regency": regency,
                    "kbli": "13134",
                    "workforce": str(3 + n % 40),
                    "investment_rupiah": str(50_000_000 + 1_000_000 * (n % 300)),
                    "marketplace_stores": f"{platform}=https://{platform}.example/ikm-{n}",
                }
            )
            n += 1
    done = ikm(
        "registry",
        "import",
        str(write_csv(tmp / "esmart.csv", rows)),
        "--batch",
        "5000",
        url=stack.urls["registry"],
    )
    assert done.returncode == 0, done.stderr


def webinar_participants(w: int, count: int) -> list[dict[str, Any]]:
    spread = places()
    return [
        {
            "name": f"Peserta {w}-{i}",
            "email": f"peserta-{w}-{i}@example.id",
            "kind": "student" if i % 3 else "other",
            "province": next(spread)[0],
            "country": "ID",
        }
        for i in range(count)
    ]


def create_webinar(training: httpx.Client, shares: list[int], w: int) -> str:
    """Webinar ``w``; its participants by the bulk endpoint unless the CLI enrolls them."""
    start = day_this_year(w).isoformat()
    made = training.post(
        "/courses",
        json={
            "title": f"Webinar #SemuanyaAdaDisini {w + 1}",
            "kind": "webinar",
            "organizer_id": "ministry",
            "start_date": start,
            "end_date": start,
            "online_url": f"https://webinar.example/{w + 1}",
            "capacity": 100,
            "province": list(PLACES)[w % len(PLACES)],
        },
    )
    assert made.status_code == 201, made.text
    course: str = made.json()["course_id"]
    if w >= WEBINARS_BY_CLI:
        people = webinar_participants(w, shares[w])
        sent = training.post(f"/courses/{course}/enrollments/bulk", json={"participants": people})
        assert sent.status_code == 200, sent.text
        assert not sent.json().get("errors"), sent.text
    return course


def load_webinars(stack: Stack, tmp: Path) -> None:
    shares = [WEBINAR_PARTICIPANTS // WEBINARS] * WEBINARS
    for i in range(WEBINAR_PARTICIPANTS - sum(shares)):
        shares[i] += 1
    url = stack.urls["training"]
    # One client for the four threads (httpx's is thread-safe): a client per webinar built its
    # TLS context 156 times (~20 ms of CPU each) and kept no connection alive.
    with (
        httpx.Client(base_url=url, headers=MINISTRY, timeout=60) as training,
        ThreadPoolExecutor(4) as pool,
    ):
        courses = list(pool.map(partial(create_webinar, training, shares), range(WEBINARS)))
    for w in range(WEBINARS_BY_CLI):
        file = write_csv(tmp / f"webinar-{w}.csv", webinar_participants(w, shares[w]))
        done = ikm("training", "enroll", courses[w], str(file), url=url)
        assert done.returncode == 0, done.stderr
        assert f"enrolled {shares[w]}, waitlisted 0, refused 0" in done.stderr


def load_ksst(stack: Stack, tmp: Path) -> str:
    url = stack.urls["training"]
    start = day_this_year(6)
    with httpx.Client(base_url=url, headers=MINISTRY, timeout=60) as training:
        made = training.post(
            "/courses",
            json={
                "title": "Capacity Building Program on Enhancing the Development of SMI",
                "kind": "capacity_building",
                "organizer_id": "ministry",
                "co_organizer_ids": ["setneg", "colombo-plan-secretariat"],
                "start_date": start.isoformat(),
                "end_date": start.isoformat(),
                "venues": ["Jakarta", "Bandung"],
                "province": "31",
                "eligible_countries": COLOMBO_PLAN,
                "capacity": 20,
                "language": "en",
            },
        )
        assert made.status_code == 201, made.text
        course: str = made.json()["course_id"]
    people = [
        {
            "name": f"Officer {country} {i}",
            "email": f"officer-{country.lower()}-{i}@example.org",
            "kind": "civil_servant",
            "country": country,
            "province": "31" if country == "ID" else "",
            "preferred_language": "en",
        }
        for country in COLOMBO_PLAN
        for i in (1, 2)
    ]
    done = ikm("training", "enroll", course, str(write_csv(tmp / "ksst.csv", people)), url=url)
    assert done.returncode == 0, done.stderr
    assert "enrolled 20, waitlisted 0, refused 0" in done.stderr
    return course


def load_everything(stack: Stack, tmp: Path) -> tuple[str, dict[str, float]]:
    """The four loads, the registry's and the training's at the same time: (the KSST course,
    seconds per load). They go to different services and count in different indicators, so
    neither waits for the other's service; the registry's keep their order (MoUs name partners).
    """
    durations: dict[str, float] = {}

    def timed[T](name: str, load: Callable[[Stack, Path], T]) -> T:
        began = time.monotonic()
        done = load(stack, tmp)
        durations[name] = time.monotonic() - began
        return done

    def registry() -> None:
        timed("link_and_match", load_link_and_match)
        timed("esmart", load_esmart)

    def training() -> str:
        timed("webinars", load_webinars)
        return timed("ksst", load_ksst)

    with ThreadPoolExecutor(2) as pool:
        registry_done, ksst = pool.submit(registry), pool.submit(training)
        registry_done.result()
        return ksst.result(), durations
