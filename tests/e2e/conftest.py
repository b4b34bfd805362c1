from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, async_playwright

from ikm_cli.devextras import SmtpSink
from tests.support.browser import launch_chromium
from tests.support.stack import Stack, start_stack

HERE = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """This package's modules with a stack of their own (the articles', the dashboard's, the
    dev CLI's) run before the modules on the package's ``stack``, which starts at its first
    user and lives until the package ends: otherwise its five idle services (consumers polling
    the broker, relays their outboxes) take CPU from every stack started after it. Modules stay
    whole and in collection order within each group; other packages' items keep their places.
    """
    slots = [i for i, item in enumerate(items) if item.path.is_relative_to(HERE)]
    on_stack = {items[i].path for i in slots if "stack" in getattr(items[i], "fixturenames", ())}
    ordered = sorted((items[i] for i in slots), key=lambda item: item.path in on_stack)
    for slot, item in zip(slots, ordered, strict=True):
        items[slot] = item


@pytest.fixture(scope="package")
def smtp_sink() -> Iterator[SmtpSink]:
    sink = SmtpSink().start()
    yield sink
    sink.stop()


@pytest.fixture(scope="package")
def stack(
    kafka: str, smtp_sink: SmtpSink, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    """All five services as separate processes on the session's broker, with an SMTP sink.

    Package-scoped: the stack's consumers (groups ``notify``, ``subsidy``, ``training``,
    ``insights``) must be gone before other packages' tests run those services in-process in
    the same groups.
    """
    data_dir: Path = tmp_path_factory.mktemp("stack")
    env = {"NOTIFY_SMTP_HOST": smtp_sink.host, "NOTIFY_SMTP_PORT": str(smtp_sink.port)}
    running = start_stack(kafka, data_dir, env)
    yield running
    running.stop()


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    """One chromium (and Playwright driver) per module; each test opens its own context."""
    async with async_playwright() as playwright:
        chromium = await launch_chromium(playwright)
        yield chromium
        await chromium.close()
