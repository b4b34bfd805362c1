"""What the dashboard's browser tests share: the figures fed through the public APIs
(``feed``) and what each should read (``actual``), tokens, and ``Visit``: a browser context
that records what the page did."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
from playwright.async_api import Page

from tests.support.articles import eventually
from tests.support.service import auth_headers

TOKEN_KEY = "ikm.dashboard.token"
READY = "html[data-state=ready]"
YEAR = datetime.now(UTC).year
MINISTRY = auth_headers("ministry")

# (province, regency) -> enterprises registered there; all but 35's have one e-Smart store
ENTERPRISES = {("32", "3201"): 6, ("32", "3204"): 3, ("32", "3273"): 4, ("31", "3171"): 5,
               ("35", "3578"): 2}  # fmt: skip
PLATFORMS = ["tokopedia", "shopee", "bukalapak", "gojek", "blibli", "blanja"]
# webinar participants per province; None: participants who gave no province (counted
# nationally only: the national page's province table shows them in a row of their own)
WEBINAR: dict[str | None, int] = {"32": 7, "31": 4, None: 2}
PARTNERS = {"vocational_school": 2, "company": 1, "university": 1}
# (indicator, province, regency, target); actual 0 -> behind, target = actual -> on track
TARGETS: list[tuple[str, str, str | None, int]] = [
    ("esmart.onboarded", "31", None, 5),
    ("esmart.onboarded", "32", None, 13),
    ("esmart.onboarded", "35", None, 10),
    ("webinars.participants", "32", None, 7),
    ("linkmatch.agreements", "32", None, 50),
    ("enterprises.registered", "32", "3273", 4),
]


def actual(indicator: str, province: str | None = None, regency: str | None = None) -> int:
    """What was fed, per indicator and place."""

    def here(p: str | None, r: str | None = None) -> bool:
        return (province is None or p == province) and (regency is None or r == regency)

    if indicator == "enterprises.registered":
        return sum(n for (p, r), n in ENTERPRISES.items() if here(p, r))
    if indicator == "esmart.onboarded":
        return sum(n for (p, r), n in ENTERPRISES.items() if here(p, r) and p != "35")
    if indicator == "campaigns.participants":
        return sum(n for (p, r), n in ENTERPRISES.items() if here(p, r) and p == "32")
    if indicator == "webinars.participants":
        return sum(n for p, n in WEBINAR.items() if here(p) and regency is None)
    return 0


def token(role: str, **claims: str) -> str:
    return auth_headers(role, **claims)["Authorization"].removeprefix("Bearer ")  # type: ignore[arg-type]


def feed(urls: dict[str, str]) -> None:
    """The events, through the public APIs; then wait until insights has counted them."""
    rows: list[dict[str, Any]] = []
    for (province, regency), count in ENTERPRISES.items():
        for _ in range(count):
            n = len(rows)
            row: dict[str, Any] = {
                "nib": f"8{n:012d}",
                "name": f"IKM Dasbor {n}",
                "owner_name": f"Pemilik {n}",
                "province": province,
                "regency": regency,
                "kbli": "13134",
                "workforce": 4 + n,
                "investment_rupiah": 100_000_000,
            }
            if province != "35":
                platform = PLATFORMS[n % len(PLATFORMS)]
                row["marketplace_stores"] = [
                    {"platform": platform, "shop_url": f"https://{platform}.example/d-{n}"}
                ]
            if province == "32":
                row["campaigns"] = ["#SemuanyaAdaDisini"]
            rows.append(row)
    partners = [
        {"partner_id": f"{kind[:3]}-{i}", "name": f"Mitra {kind} {i}", "partner_type": kind,
         "province": "32", "regency": "3273"}
        for kind, count in PARTNERS.items() for i in range(count)
    ]  # fmt: skip
    with httpx.Client(base_url=urls["registry"], headers=MINISTRY, timeout=60) as registry:
        done = registry.post("/enterprises/import", json={"rows": rows})
        assert done.status_code == 200, done.text
        assert {r["status"] for r in done.json()["results"]} == {"imported"}, done.text
        done = registry.post("/partners/import", json={"rows": partners})
        assert done.status_code == 200, done.text
    with httpx.Client(base_url=urls["training"], headers=MINISTRY, timeout=60) as training:
        day = datetime.now(UTC).date().isoformat()
        made = training.post(
            "/courses",
            json={"title": "Webinar e-Smart IKM", "kind": "webinar", "organizer_id": "ministry",
                  "start_date": day, "end_date": day, "capacity": 50,
                  "online_url": "https://webinar.example/dasbor"},
        )  # fmt: skip
        assert made.status_code == 201, made.text
        people = [
            {"name": f"Peserta {p}-{i}", "email": f"p{p}-{i}@example.id", "kind": "student",
             **({"province": p} if p else {})}
            for p, n in WEBINAR.items() for i in range(n)
        ]  # fmt: skip
        sent = training.post(
            f"/courses/{made.json()['course_id']}/enrollments/bulk", json={"participants": people}
        )
        assert sent.status_code == 200 and not sent.json().get("errors"), sent.text
    with httpx.Client(base_url=urls["insights"], headers=MINISTRY, timeout=60) as insights:
        for indicator, province, regency, value in TARGETS:
            body = {"indicator": indicator, "fiscal_year": YEAR, "province": province,
                    "regency": regency, "value": value}  # fmt: skip
            assert insights.post("/targets", json=body).status_code == 201

        def counted() -> bool | None:
            wanted = ["enterprises.registered", "esmart.onboarded", "webinars.participants",
                      "campaigns.participants"]  # fmt: skip
            for indicator in wanted:
                got = insights.get(f"/indicators/{indicator}", params={"fiscal_year": YEAR})
                if got.json()["total"] != actual(indicator):
                    return None
            partners = insights.get("/indicators/partners.registered", params={"fiscal_year": YEAR})
            return partners.json()["total"] == sum(PARTNERS.values()) or None

        eventually(counted, "insights to count what was fed")


class Visit:
    """A fresh browser context (its own sessionStorage) that records what the page did."""

    def __init__(self, page: Page, server: str) -> None:
        self.page = page
        self.server = server
        self.errors: list[str] = []
        self.requests: list[str] = []
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        page.on("request", lambda request: self.requests.append(request.url))
        page.on(
            "console",
            lambda msg: self.errors.append(msg.text) if msg.type == "error" else None,
        )

    async def signed_in(self, path: str, bearer: str) -> Page:
        await self.page.add_init_script(f"sessionStorage.setItem({TOKEN_KEY!r}, {bearer!r})")
        await self.page.goto(self.server + path)
        await self.page.wait_for_selector(READY)
        return self.page

    async def text(self, selector: str) -> str:
        return (await self.page.locator(selector).inner_text()).strip()

    async def values(self, selector: str, attribute: str = "data-value") -> list[str]:
        return [
            str(await node.get_attribute(attribute))
            for node in await self.page.locator(selector).all()
        ]

    def assert_clean(self) -> None:
        """No script error, no CSP violation, nothing fetched from anywhere but the service."""
        assert self.errors == []
        assert all(url.startswith(self.server) for url in self.requests), self.requests


def fmt_id(n: int) -> str:
    return f"{n:,}".replace(",", ".")


def fmt_en(n: int) -> str:
    return f"{n:,}"
