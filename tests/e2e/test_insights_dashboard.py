"""The insights dashboard in a real browser (Debian's chromium, headless, driven by Playwright).

The page is served with the insights API it reads; until the real service is merged that API
is the STUB in tests/support/insights_stub.py (same JSON contract, same role rules, the
articles' figures). ``dashboard_app`` is the one line to change for the real service.
Screenshots: reports/screenshots/insights-dashboard-*.png.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from fastapi import FastAPI
from playwright.async_api import Browser, Page, async_playwright

from services.insights.dashboard.router import STRINGS
from tests.support.browser import (
    CHROMIUM,
    MISSING_CHROMIUM,
    launch_chromium,
    live_server,
    screenshot_path,
)
from tests.support.insights_stub import actual, stub_insights_app
from tests.support.service import auth_headers

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason=MISSING_CHROMIUM)

TOKEN_KEY = "ikm.dashboard.token"
READY = "html[data-state=ready]"


def dashboard_app() -> FastAPI:
    return stub_insights_app()  # at merge: services.insights.main.create_app() fed with events


def token(role: str, **claims: str) -> str:
    return auth_headers(role, **claims)["Authorization"].removeprefix("Bearer ")  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with live_server(dashboard_app()) as url:
        yield url


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

    # The articles' figures, formatted the Indonesian way.
    expected = {
        "linkmatch.smk": "2.612",
        "linkmatch.companies": "885",
        "linkmatch.agreements": "4.997",
        "webinars.held": "156",
        "webinars.participants": "13.871",
        "esmart.onboarded": "10.240",
        "campaigns.participants": "1.600.000",
    }
    for indicator, shown in expected.items():
        assert await visit.text(f'.card[data-indicator="{indicator}"] .value') == shown
    subsidy = await visit.text('.card[data-indicator="subsidy.reserved_rupiah"] .value')
    assert subsidy.startswith("Rp") and subsidy.endswith("12.450.000.000")
    assert await visit.text("#headline h3") == "Angka utama"
    assert await visit.text("#year-shown") == "Tahun anggaran 2026"

    # Monthly trends: 12 columns summing to the total, Indonesian month names.
    trend = '[data-chart="trend-esmart.onboarded"]'
    bars = await visit.values(f"{trend} rect.bar")
    assert len(bars) == 12 and sum(map(int, bars)) == 10_240
    months = await visit.values(f"{trend} text.axis", "x")
    assert len(months) >= 12
    assert "Mei" in await visit.text(trend) and "Agu" in await visit.text(trend)

    # Breakdowns: six platforms, partner types, KSST participants from ten countries.
    platforms = await visit.values('[data-chart="esmart-platforms"] rect.bar', "data-key")
    assert set(platforms) == {"BliBli", "Blanja.com", "Bukalapak", "Gojek", "Shopee", "Tokopedia"}
    partners = await visit.text('[data-chart="partner-types"]')
    assert "SMK" in partners and "Perusahaan" in partners and "Perguruan tinggi" in partners
    countries = await visit.values('[data-chart="countries"] rect.bar')
    assert len(countries) == 10 and sum(map(int, countries)) == 20

    # Province table with progress against targets.
    rows = await visit.values("#province-table tbody tr", "data-province")
    assert rows == ["11", "31", "32", "34", "35"]
    west_java = '#province-table tr[data-province="32"]'
    assert (await visit.text(f"{west_java} th")) == "Jawa Barat"
    cell = f'{west_java} td[data-indicator="esmart.onboarded"]'
    assert await visit.text(cell) == fmt_id(actual("esmart.onboarded", "32"))
    on_track = await visit.values(f"{west_java} .progress-line", "data-on-track")
    assert on_track == ["true", "true", "false"]
    assert await visit.values('tr[data-province="34"] .progress-line', "data-on-track") == ["false"]
    provinces_on_track = '#target-table tr[data-indicator="esmart.onboarded"] td:last-child'
    assert await visit.text(provinces_on_track) == "3 / 5"
    await page.screenshot(path=screenshot_path("insights-dashboard-national-id"), full_page=True)
    visit.assert_clean()


async def test_the_national_page_in_english(visit: Visit) -> None:
    page = await visit.signed_in("/dashboard?lang=en", token("ministry"))
    assert await page.locator("html").get_attribute("lang") == "en"
    assert await visit.text("#headline h3") == "Key figures"
    assert await visit.text("#provinces h3") == "Provinces and progress against targets"
    assert await visit.text('.card[data-indicator="linkmatch.smk"] .value') == "2,612"
    assert await visit.text('.card[data-indicator="webinars.participants"] .value') == "13,871"
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
    await page.fill("#fiscal-year", "2025")
    await page.click("#year-form button[type=submit]")
    await page.wait_for_selector(READY)
    assert page.url == visit.server + "/dashboard?lang=id&fiscal_year=2025"
    assert await visit.text("#year-shown") == "Tahun anggaran 2025"
    assert await visit.text('.card[data-indicator="linkmatch.smk"] .value') == "0"
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
    regencies = await visit.values("#regency-table tbody tr", "data-regency")
    assert regencies == ["3201", "3204", "3273"]
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
