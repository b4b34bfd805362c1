"""The insights dashboard in a real browser (Debian's chromium, headless, driven by Playwright)
against the real insights service, after events flow.

The module runs its own broker and the five services (``articles_stack``, as
tests/e2e/test_articles_figures.py does for the articles' figures) and feeds them through the
public APIs: enterprises with e-Smart stores and a campaign in three provinces
(``POST /enterprises/import``), partners (``POST /partners/import``), a webinar with its
participants (training), and regional targets (``POST /targets``). The page is then read as
an officer sees it. Screenshots: reports/screenshots/insights-dashboard-*.png.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, Page, async_playwright

from services.insights.dashboard.router import STRINGS
from tests.e2e.test_articles_figures import articles_stack, eventually
from tests.support.browser import (
    launch_chromium,
    needs_chromium,
    screenshot_path,
)
from tests.support.service import auth_headers

pytestmark = needs_chromium

TOKEN_KEY = "ikm.dashboard.token"
READY = "html[data-state=ready]"
YEAR = datetime.now(UTC).year
MINISTRY = auth_headers("ministry")

# (province, regency) -> enterprises registered there; all but 35's have one e-Smart store
ENTERPRISES = {("32", "3201"): 6, ("32", "3204"): 3, ("32", "3273"): 4, ("31", "3171"): 5,
               ("35", "3578"): 2}  # fmt: skip
PLATFORMS = ["tokopedia", "shopee", "bukalapak", "gojek", "blibli", "blanja"]
WEBINAR = {"32": 7, "31": 4}  # webinar participants per province
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

    def here(p: str, r: str | None = None) -> bool:
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
             "province": p}
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


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with articles_stack(tmp_path_factory.mktemp("dashboard")) as stack:
        feed(stack.urls)
        yield stack.urls["insights"]


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        chromium = await launch_chromium(playwright)
        yield chromium
        await chromium.close()


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


@pytest.fixture
async def visit(browser: Browser, server: str) -> AsyncIterator[Visit]:
    context = await browser.new_context(viewport={"width": 1400, "height": 1000})
    yield Visit(await context.new_page(), server)
    await context.close()


def fmt_id(n: int) -> str:
    return f"{n:,}".replace(",", ".")


def fmt_en(n: int) -> str:
    return f"{n:,}"


async def test_sign_in_then_the_national_figures_in_indonesian(visit: Visit) -> None:
    page = visit.page
    await page.goto(visit.server + "/dashboard")
    await page.wait_for_selector("html[data-state=signin]")
    assert await page.locator("html").get_attribute("lang") == "id"
    assert await visit.text("#signin h2") == "Masuk"
    assert await page.locator("#content").is_hidden()

    await page.fill("#token", "Bearer " + token("ministry"))
    await page.click("#signin-form button[type=submit]")
    await page.wait_for_selector(READY)

    # What was fed, this fiscal year (the page's default), formatted the Indonesian way.
    for indicator in ("enterprises.registered", "esmart.onboarded", "campaigns.participants",
                      "webinars.participants"):  # fmt: skip
        card = f'.card[data-indicator="{indicator}"] .value'
        assert await visit.text(card) == fmt_id(actual(indicator)), indicator
    assert await visit.text('.card[data-indicator="linkmatch.smk"] .value') == "0"
    subsidy = await visit.text('.card[data-indicator="subsidy.reserved_rupiah"] .value')
    assert subsidy.startswith("Rp") and subsidy.endswith("0")
    assert await visit.text("#headline h3") == "Angka utama"
    assert await visit.text("#year-shown") == f"Tahun anggaran {YEAR}"

    # Monthly trends: 12 columns summing to the total, Indonesian month names.
    trend = '[data-chart="trend-esmart.onboarded"]'
    bars = await visit.values(f"{trend} rect.bar")
    assert len(bars) == 12 and sum(map(int, bars)) == actual("esmart.onboarded")
    assert int(bars[datetime.now(UTC).month - 1]) == actual("esmart.onboarded")
    assert "Mei" in await visit.text(trend) and "Agu" in await visit.text(trend)

    # Breakdowns: the six platforms by name, partner types.
    platforms = await visit.values('[data-chart="esmart-platforms"] rect.bar', "data-key")
    assert set(platforms) == set(PLATFORMS)
    shown = await visit.text('[data-chart="esmart-platforms"]')
    assert all(name in shown for name in ("Tokopedia", "BliBli", "Blanja.com", "Gojek"))
    partners = await visit.text('[data-chart="partner-types"]')
    assert "SMK" in partners and "Perusahaan" in partners and "Perguruan tinggi" in partners
    assert sorted(map(int, await visit.values('[data-chart="partner-types"] rect.bar'))) == sorted(
        PARTNERS.values()
    )

    # No course with foreign participants (the KSST course is test_articles_figures'): no data.
    assert await page.locator('[data-chart="countries"] .no-data').is_visible()

    # Province table (every province) with progress against the targets set.
    rows = await visit.values("#province-table tbody tr", "data-province")
    assert {"11", "31", "32", "35", "94"} <= set(rows) and len(rows) == 38
    west_java = '#province-table tr[data-province="32"]'
    assert (await visit.text(f"{west_java} th")) == "Jawa Barat"
    cell = f'{west_java} td[data-indicator="esmart.onboarded"]'
    assert await visit.text(cell) == fmt_id(actual("esmart.onboarded", "32"))
    lines = await visit.values(f"{west_java} .progress-line", "data-indicator")
    on_track = await visit.values(f"{west_java} .progress-line", "data-on-track")
    assert dict(zip(lines, on_track, strict=True)) == {
        "esmart.onboarded": "true",
        "webinars.participants": "true",
        "linkmatch.agreements": "false",
    }
    assert await visit.values('tr[data-province="35"] .progress-line', "data-on-track") == ["false"]
    assert await visit.text('tr[data-province="11"] .progress-cell') == "Belum ada target"
    provinces_on_track = '#target-table tr[data-indicator="esmart.onboarded"] td:last-child'
    assert await visit.text(provinces_on_track) == "2 / 3"
    await page.screenshot(path=screenshot_path("insights-dashboard-national-id"), full_page=True)
    visit.assert_clean()


async def test_the_national_page_in_english(visit: Visit) -> None:
    page = await visit.signed_in("/dashboard?lang=en", token("ministry"))
    assert await page.locator("html").get_attribute("lang") == "en"
    assert await visit.text("#headline h3") == "Key figures"
    assert await visit.text("#provinces h3") == "Provinces and progress against targets"
    card = '.card[data-indicator="enterprises.registered"] .value'
    assert await visit.text(card) == fmt_en(actual("enterprises.registered"))
    trend = await visit.text('[data-chart="trend-webinars.participants"]')
    assert "May" in trend and "Mei" not in trend
    assert "Vocational school (SMK)" in await visit.text('[data-chart="partner-types"]')
    cell = '#province-table tr[data-province="31"] td[data-indicator="webinars.participants"]'
    assert await visit.text(cell) == fmt_en(actual("webinars.participants", "31"))
    # The language links keep the page; Indonesian is one click away.
    await page.click('a[hreflang="id"]')
    await page.wait_for_selector(READY)
    assert await visit.text("#headline h3") == "Angka utama"
    await page.goto(visit.server + "/dashboard?lang=en")
    await page.wait_for_selector(READY)
    await page.screenshot(path=screenshot_path("insights-dashboard-national-en"), full_page=True)
    visit.assert_clean()


async def test_another_fiscal_year_is_chosen_on_the_page(visit: Visit) -> None:
    page = await visit.signed_in("/dashboard", token("ministry"))
    await page.fill("#fiscal-year", str(YEAR - 1))
    await page.click("#year-form button[type=submit]")
    await page.wait_for_selector(READY)
    assert page.url == visit.server + f"/dashboard?lang=id&fiscal_year={YEAR - 1}"
    assert await visit.text("#year-shown") == f"Tahun anggaran {YEAR - 1}"
    assert await visit.text('.card[data-indicator="esmart.onboarded"] .value') == "0"
    west_java = '#province-table tr[data-province="32"] .progress-cell'
    assert await visit.text(west_java) == "Belum ada target"
    visit.assert_clean()


async def test_the_province_page_breaks_down_by_regency_with_targets(visit: Visit) -> None:
    page = await visit.signed_in("/dashboard/provinces/32", token("ministry"))
    assert await visit.text("#page-title") == "Provinsi Jawa Barat"
    assert await page.locator("#back-national").is_visible()
    assert await visit.text('.card[data-indicator="esmart.onboarded"] .value') == fmt_id(
        actual("esmart.onboarded", "32")
    )
    # Participants give a province only: their row is the last, "without a regency".
    rows = await visit.values("#regency-table tbody tr", "data-regency")
    assert rows == ["3201", "3204", "3273", "-"]
    regencies = rows[:-1]
    unknown = '#regency-table tr[data-regency="-"]'
    assert await visit.text(f"{unknown} th") == "Tanpa kabupaten/kota"
    assert await visit.text(f'{unknown} td[data-indicator="webinars.participants"]') == fmt_id(
        actual("webinars.participants", "32")
    )
    assert await visit.text('#regency-table tr[data-regency="3273"] th') == "Kota Bandung"
    for code in regencies:
        cell = (
            f'#regency-table tr[data-regency="{code}"] td[data-indicator="enterprises.registered"]'
        )
        assert await visit.text(cell) == fmt_id(actual("enterprises.registered", "32", code))
    bars = await visit.values('[data-chart="regencies"] rect.bar')
    assert sorted(map(int, bars)) == sorted(
        actual("enterprises.registered", "32", code) for code in regencies
    )
    targets = await visit.values("#target-table tbody tr", "data-indicator")
    assert sorted(targets) == sorted(
        [
            "enterprises.registered",
            "esmart.onboarded",
            "linkmatch.agreements",
            "webinars.participants",
        ]
    )
    behind = '#target-table tr[data-indicator="linkmatch.agreements"]'
    assert await page.locator(behind).get_attribute("data-on-track") == "false"
    assert "Tertinggal" in await visit.text(behind)
    assert "Seluruh provinsi" in await visit.text(behind)
    regency_target = '#target-table tr[data-indicator="enterprises.registered"]'
    assert "Kota Bandung" in await visit.text(regency_target)
    assert "Sesuai jadwal" in await visit.text(regency_target)
    await page.screenshot(path=screenshot_path("insights-dashboard-province-32"), full_page=True)
    visit.assert_clean()


async def test_a_regional_officer_sees_only_their_province(visit: Visit) -> None:
    bearer = token("regional", province="32")
    page = await visit.signed_in("/dashboard", bearer)
    assert page.url == visit.server + "/dashboard/provinces/32?lang=id"
    assert await visit.text("#page-title") == "Provinsi Jawa Barat"
    assert "Dinas provinsi · Jawa Barat" in await visit.text("#who")
    assert await page.locator("#back-national").is_hidden()
    assert await visit.text('.card[data-indicator="webinars.participants"] .value') == fmt_id(
        actual("webinars.participants", "32")
    )
    assert await visit.text('.card[data-indicator="enterprises.registered"] .value') == fmt_id(
        actual("enterprises.registered", "32")
    )
    await page.screenshot(path=screenshot_path("insights-dashboard-regional-32"), full_page=True)

    # Another province's page sends them back to theirs; the API refuses it anyway.
    await page.goto(visit.server + "/dashboard/provinces/31?lang=en")
    await page.wait_for_selector(READY)
    assert page.url == visit.server + "/dashboard/provinces/32?lang=en"
    refused = await page.request.get(
        visit.server + "/indicators/esmart.onboarded?province=31",
        headers={"Authorization": f"Bearer {bearer}"},
    )
    assert refused.status == 403
    visit.assert_clean()


async def test_rejected_tokens_and_sign_out(visit: Visit) -> None:
    page = visit.page
    await page.goto(visit.server + "/dashboard")
    await page.fill("#token", "not-a-token")
    await page.click("#signin-form button[type=submit]")
    assert await visit.text("#signin-error") == STRINGS["token_malformed"]["id"]

    # Well formed, but not signed with the platform's secret: the API answers 401.
    forged = token("ministry")[:-4] + "AAAA"
    await page.fill("#token", forged)
    await page.click("#signin-form button[type=submit]")
    await page.wait_for_selector("html[data-state=signin]")
    assert await visit.text("#signin-error") == STRINGS["token_rejected"]["id"]
    assert await page.evaluate(f"sessionStorage.getItem({TOKEN_KEY!r})") is None

    # A partner may not read program figures: the page says so.
    await page.fill("#token", token("partner", partner_id="P-1"))
    await page.click("#signin-form button[type=submit]")
    await page.wait_for_selector(READY)
    assert STRINGS["forbidden"]["id"] in await visit.text("#page-error")

    await page.click("#signout")
    await page.wait_for_selector("html[data-state=signin]")
    assert await page.evaluate(f"sessionStorage.getItem({TOKEN_KEY!r})") is None


async def test_pages_are_self_contained_and_checked(server: str) -> None:
    async with httpx.AsyncClient(base_url=server) as client:
        page = await client.get("/dashboard")
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        assert "script-src 'self'" in page.headers["content-security-policy"]
        assert '<html lang="id">' in page.text and "Dasbor Program IKM" in page.text
        assert "IKM Programme Dashboard" in (await client.get("/dashboard?lang=en")).text
        assert "http://" not in page.text and "https://" not in page.text
        assert (await client.get("/dashboard?lang=fr")).status_code == 422
        assert (await client.get("/dashboard/provinces/99")).status_code == 422
        script = await client.get("/dashboard/static/dashboard.js")
        assert script.headers["content-type"].startswith("text/javascript")
        assert "https://" not in script.text
        assert (await client.get("/dashboard/static/router.py")).status_code == 404
    assert all(set(texts) == {"id", "en"} and all(texts.values()) for texts in STRINGS.values())
