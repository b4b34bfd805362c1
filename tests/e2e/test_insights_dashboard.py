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

import httpx
import pytest
from playwright.async_api import Browser

from services.insights.dashboard.router import STRINGS
from tests.support.articles import articles_stack
from tests.support.browser import (
    needs_chromium,
    screenshot_path,
)
from tests.support.dashboard import (
    PARTNERS,
    PLATFORMS,
    READY,
    TOKEN_KEY,
    WEBINAR,
    YEAR,
    Visit,
    actual,
    feed,
    fmt_en,
    fmt_id,
    token,
)

pytestmark = needs_chromium


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with articles_stack(tmp_path_factory.mktemp("dashboard")) as stack:
        feed(stack.urls)
        yield stack.urls["insights"]


@pytest.fixture
async def visit(browser: Browser, server: str) -> AsyncIterator[Visit]:
    context = await browser.new_context(viewport={"width": 1400, "height": 1000})
    yield Visit(await context.new_page(), server)
    await context.close()


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


async def test_every_chart_has_its_figures_as_a_table(visit: Visit) -> None:
    """A chart is a picture: its figures are also a table (in a disclosure under it), so a
    screen reader, a keyboard user or an officer copying a figure gets every value, and the
    picture's label names the chart and its total."""
    page = await visit.signed_in("/dashboard", token("ministry"))
    trend = '[data-chart="trend-esmart.onboarded"]'
    label = await page.locator(f"{trend} svg").get_attribute("aria-label")
    assert label == f"IKM onboarding e-Smart, Total: {fmt_id(actual('esmart.onboarded'))}"
    assert await visit.text(f"{trend} details summary") == "Tabel data"
    months = await visit.values(f"{trend} details table tbody th[scope=row]", "data-key")
    assert months == [f"{YEAR}-{m:02d}" for m in range(1, 13)]
    this_month = f'{trend} details tr[data-key="{YEAR}-{datetime.now(UTC).month:02d}"] td'
    assert await page.locator(this_month).text_content() == fmt_id(actual("esmart.onboarded"))
    await page.click(f"{trend} details summary")
    assert await page.locator(f"{trend} details table").is_visible()

    platforms = '[data-chart="esmart-platforms"] details table'
    names = [n.strip() for n in await page.locator(f"{platforms} tbody th").all_text_contents()]
    assert set(names) == {"Tokopedia", "Shopee", "Bukalapak", "Gojek", "BliBli", "Blanja.com"}
    shown = [int(v) for v in await visit.values(f"{platforms} tbody td")]
    assert sum(shown) == actual("esmart.onboarded")
    caption = await page.locator(f"{platforms} caption").text_content()
    assert caption == STRINGS["chart_esmart"]["id"]

    page = await visit.signed_in("/dashboard/provinces/32?lang=en", token("ministry"))
    regencies = '[data-chart="regencies"] details table'
    assert await visit.text('[data-chart="regencies"] details summary') == "Data table"
    rows = await page.locator(f"{regencies} tbody th").all_text_contents()
    assert "Kota Bandung" in [r.strip() for r in rows]
    visit.assert_clean()


async def test_the_province_table_adds_up_to_the_national_figures(visit: Visit) -> None:
    """Every province's row, a row of what no province holds (webinar participants who gave
    none) and the national total, equal to the headline figure: an officer adding up the
    table reaches the card's number (the rows alone fell short, unexplained)."""
    await visit.signed_in("/dashboard", token("ministry"))
    foot = "#province-table tfoot"
    assert await visit.values(f"{foot} tr", "data-province") == ["-", "national"]
    assert await visit.text(f'{foot} tr[data-province="-"] th') == "Tanpa provinsi"
    assert await visit.text(f'{foot} tr[data-province="national"] th') == "Nasional"
    none = f'{foot} tr[data-province="-"] td[data-indicator="webinars.participants"]'
    assert await visit.text(none) == fmt_id(WEBINAR[None])
    for indicator in ("enterprises.registered", "esmart.onboarded", "webinars.participants"):
        rows = await visit.values(f'#province-table tbody td[data-indicator="{indicator}"]')
        extra = await visit.values(f'{foot} tr[data-province="-"] td[data-indicator="{indicator}"]')
        national = f'{foot} tr[data-province="national"] td[data-indicator="{indicator}"]'
        card = f'.card[data-indicator="{indicator}"] .value'
        assert sum(map(int, rows + extra)) == actual(indicator), indicator
        assert await visit.text(national) == await visit.text(card) == fmt_id(actual(indicator))
    visit.assert_clean()
