"""The articles' figures reproduce (issue #13): articles 002 and 001 loaded through the public
HTTP APIs and the ``ikm`` CLI on the real stack, then read back from the insights API and the
dashboard in a real browser, exactly.

Loaded (fiscal year = this year, so the dashboard's default year shows everything):
- 2,612 SMK and 885 companies (``ikm registry import-partners``), 4,997 signed
  vocational_link_and_match MoUs between them (``ikm registry import-mous``), every school and
  every company in at least one;
- 156 webinars (``POST /courses``) with 13,871 participants (``ikm training enroll`` for a few,
  ``POST /courses/{id}/enrollments/bulk`` for the rest; capacity above each webinar's share);
- the KSST course of article 001 with 20 participants from its 10 countries (``ikm training
  enroll``);
- 10,200 e-Smart IKM with one store each on the six platforms (``ikm registry import`` with
  ``marketplace_stores``).

The module runs its own broker and stack (nothing else publishes there), so the figures are
exact. The stack and the loads are in tests/support/articles.py.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser

from tests.support.articles import (
    AGREEMENTS,
    COLOMBO_PLAN,
    COMPANIES,
    MINISTRY,
    MINISTRY_TOKEN,
    PLATFORMS,
    SMK,
    WEBINAR_PARTICIPANTS,
    WEBINARS,
    YEAR,
    Loaded,
    articles_stack,
    eventually,
    load_everything,
)
from tests.support.browser import needs_chromium, screenshot_path

# ---------------------------------------------------------------- reading insights


def series(insights: httpx.Client, indicator: str, **params: Any) -> dict[str, Any]:
    found = insights.get(f"/indicators/{indicator}", params={"fiscal_year": YEAR, **params})
    assert found.status_code == 200, found.text
    body: dict[str, Any] = found.json()
    return body


def dimension_values(body: dict[str, Any]) -> dict[str, int]:
    """``by=dimension`` points keyed ``dimension:value`` (or ``course_country:C/XX``) as
    ``{value: n}``."""
    return {str(p["key"]).rsplit(":", 1)[-1].rsplit("/", 1)[-1]: p["value"] for p in body["points"]}


EXPECTED_TOTALS = {
    "linkmatch.smk": SMK,
    "linkmatch.companies": COMPANIES,
    "linkmatch.agreements": AGREEMENTS,
    "webinars.held": WEBINARS,
    "webinars.participants": WEBINAR_PARTICIPANTS,
    "esmart.onboarded": sum(PLATFORMS.values()),
}


def consumed_everything(insights: httpx.Client, ksst_course: str) -> dict[str, int] | None:
    totals = {i: series(insights, i)["total"] for i in EXPECTED_TOTALS}
    ksst = series(
        insights,
        "participants.enrolled",
        by="dimension",
        dimension=f"course_country:{ksst_course}/",
    )
    totals["ksst"] = sum(p["value"] for p in ksst["points"])
    wanted = {**EXPECTED_TOTALS, "ksst": 20}
    return totals if all(totals[k] >= v for k, v in wanted.items()) else None


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Loaded]:
    tmp = tmp_path_factory.mktemp("articles")
    began = time.monotonic()
    with articles_stack(tmp) as stack:
        durations = {"stack": time.monotonic() - began}
        mark = time.monotonic()
        ksst, loads = load_everything(stack, tmp)
        durations.update(loads)
        durations["loads"] = time.monotonic() - mark
        mark = time.monotonic()
        with httpx.Client(base_url=stack.urls["insights"], headers=MINISTRY, timeout=60) as api:
            eventually(lambda: consumed_everything(api, ksst), "insights to count everything")
        durations["insights_caught_up"] = time.monotonic() - mark
        durations["total"] = time.monotonic() - began
        print(f"\narticles' figures loaded: { {k: round(v, 1) for k, v in durations.items()} }")
        yield Loaded(stack, ksst, durations)


# ---------------------------------------------------------------- the assertions


def test_the_insights_api_shows_exactly_the_articles_figures(loaded: Loaded) -> None:
    with httpx.Client(base_url=loaded.insights, headers=MINISTRY, timeout=60) as insights:
        for indicator, expected in EXPECTED_TOTALS.items():
            assert series(insights, indicator)["total"] == expected, indicator
        platforms = series(insights, "esmart.onboarded", by="dimension", dimension="platform")
        assert dimension_values(platforms) == PLATFORMS
        ksst = series(
            insights,
            "participants.enrolled",
            by="dimension",
            dimension=f"course_country:{loaded.ksst_course}/",
        )
        by_country = dimension_values(ksst)
        assert by_country == dict.fromkeys(COLOMBO_PLAN, 2)
        assert len(by_country) == 10 and sum(by_country.values()) == 20
        # Every school and company is in an agreement: the partners are all of them.
        partners = series(insights, "partners.registered", by="dimension", dimension="partner_type")
        assert dimension_values(partners) == {"vocational_school": SMK, "company": COMPANIES}
        # The province table adds up to the national figures of indicators that have a place.
        rows = insights.get(
            "/provinces",
            params={"fiscal_year": YEAR, "indicators": ",".join(EXPECTED_TOTALS)},
        ).json()["items"]
        for indicator, expected in EXPECTED_TOTALS.items():
            assert sum(r["values"][indicator] for r in rows) == expected, indicator
        assert sum(r["values"]["esmart.onboarded"] for r in rows) == sum(PLATFORMS.values())
        assert sum(r["values"]["webinars.held"] for r in rows) == WEBINARS


@needs_chromium
@pytest.mark.parametrize(("lang", "sep"), [("id", "."), ("en", ",")], ids=["indonesian", "english"])
async def test_the_national_dashboard_shows_them(
    loaded: Loaded, browser: Browser, lang: str, sep: str
) -> None:
    def shown(n: int) -> str:
        return f"{n:,}".replace(",", sep)

    context = await browser.new_context(viewport={"width": 1400, "height": 1000})
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    await page.add_init_script(f"sessionStorage.setItem('ikm.dashboard.token', {MINISTRY_TOKEN!r})")
    await page.goto(f"{loaded.insights}/dashboard?lang={lang}&fiscal_year={YEAR}")
    await page.wait_for_selector("html[data-state=ready]", timeout=60_000)

    async def text(selector: str) -> str:
        return (await page.locator(selector).inner_text()).strip()

    for indicator, expected in EXPECTED_TOTALS.items():
        card = f'.card[data-indicator="{indicator}"] .value'
        assert await text(card) == shown(expected), indicator
    bars = page.locator('[data-chart="esmart-platforms"] rect.bar')
    found = {
        str(await bar.get_attribute("data-key")).rsplit(":", 1)[-1]: int(
            str(await bar.get_attribute("data-value"))
        )
        for bar in await bars.all()
    }
    assert found == PLATFORMS
    platform_names = await text('[data-chart="esmart-platforms"]')
    assert all(name in platform_names for name in ("Tokopedia", "BliBli", "Blanja.com"))
    countries = page.locator('[data-chart="countries"] rect.bar')
    values = [int(str(await c.get_attribute("data-value"))) for c in await countries.all()]
    assert values == [2] * 10
    total = page.locator('[data-chart="countries"] .chart-total')
    assert await total.get_attribute("data-total") == "20"
    assert "Sri Lanka" in await text('[data-chart="countries"]')
    for indicator in ("esmart.onboarded", "linkmatch.agreements", "webinars.participants"):
        cells = page.locator(f'#province-table tbody td[data-indicator="{indicator}"]')
        column = [int(str(await c.get_attribute("data-value"))) for c in await cells.all()]
        assert len(column) == 38 and sum(column) == EXPECTED_TOTALS[indicator], indicator
        foot = '#province-table tfoot tr[data-province="national"]'
        national = page.locator(f'{foot} td[data-indicator="{indicator}"]')
        assert await national.get_attribute("data-value") == str(EXPECTED_TOTALS[indicator])
    trend = page.locator('[data-chart="trend-esmart.onboarded"] rect.bar')
    monthly = [int(str(await b.get_attribute("data-value"))) for b in await trend.all()]
    assert len(monthly) == 12 and sum(monthly) == sum(PLATFORMS.values())
    await page.screenshot(path=screenshot_path(f"articles-figures-national-{lang}"), full_page=True)
    assert errors == []
    await context.close()
