"""An SQLite file records the layout it is in (``PRAGMA user_version``). The upgrade steps in
docs/operations.md warn about two hazards; both now fail loudly instead of silently:

- code of a release before opening a file a newer release migrated (a rollback without the
  backup) would misread it: a file of a newer layout is refused, and left as it is;
- a CLI of the new release opening a store the old release's service still runs on would
  migrate it underneath that service: ``ikm audit`` refuses a file not migrated yet, and
  leaves it as it is. The service of the new release migrates it and records the layout;
  the CLI then opens it.
"""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ikm_cli.main import app
from ikmkit.messaging.outbox import OUTBOX, OUTBOX_COLLECTIONS, Outbox
from ikmkit.store.port import StoreError
from ikmkit.store.sqlite import LAYOUT, SqliteStore
from tests.support.outbox_layouts import OLD_LAYOUT, event


def _layout(path: Path) -> tuple[int, list[str]]:
    """The recorded layout and the outbox table's columns."""
    with sqlite3.connect(path) as conn:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        columns = [row[1] for row in conn.execute(f"PRAGMA table_info(c_{OUTBOX})")]
    return version, columns


async def _written_by_the_old_release(path: Path) -> None:
    """An outbox in the layout before session 21, as that code left it (no layout recorded)."""
    old = SqliteStore(path)
    await old.open(OLD_LAYOUT)
    async with old.transaction() as uow:
        await Outbox("/ikm/registry").add_many(uow, [event(i) for i in range(3)])
    await old.close()
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA user_version=0")


async def test_a_new_file_records_the_layout_and_the_cli_opens_it(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    tool = SqliteStore(path, migrate=False)  # nothing there yet: nothing to migrate
    await tool.open(list(OUTBOX_COLLECTIONS))
    await tool.close()
    assert _layout(path)[0] == LAYOUT
    again = SqliteStore(path, migrate=False)
    await again.open(list(OUTBOX_COLLECTIONS))
    await again.close()


async def test_a_file_of_a_newer_layout_is_refused_and_left_as_it_is(tmp_path: Path) -> None:
    path = tmp_path / "newer.db"
    store = SqliteStore(path)
    await store.open(list(OUTBOX_COLLECTIONS))
    await store.close()
    with sqlite3.connect(path) as conn:
        conn.execute(f"PRAGMA user_version={LAYOUT + 1}")
    before = _layout(path)
    for migrate in (True, False):
        with pytest.raises(StoreError, match=f"newer release \\(layout {LAYOUT + 1}"):
            await SqliteStore(path, migrate=migrate).open(list(OUTBOX_COLLECTIONS))
    assert _layout(path) == before


async def test_the_cli_refuses_a_file_not_migrated_the_service_migrates_it(
    tmp_path: Path,
) -> None:
    path = tmp_path / "registry.db"
    await _written_by_the_old_release(path)
    before = _layout(path)
    assert "topic" not in before[1]  # the old layout: the outbox is documents only
    with pytest.raises(StoreError, match="not in this release's layout yet"):
        await SqliteStore(path, migrate=False).open(list(OUTBOX_COLLECTIONS))
    assert _layout(path) == before

    service = SqliteStore(path)  # this release's service starting
    await service.open(list(OUTBOX_COLLECTIONS))
    async with service.transaction() as uow:
        assert len((await uow.find(OUTBOX, {}, limit=10)).items) == 3
    await service.close()
    version, columns = _layout(path)
    assert version == LAYOUT and "topic" in columns
    tool = SqliteStore(path, migrate=False)
    await tool.open(list(OUTBOX_COLLECTIONS))
    await tool.close()


def test_ikm_audit_rebuild_refuses_a_store_not_migrated(tmp_path: Path) -> None:
    path = tmp_path / "registry.db"
    asyncio.run(_written_by_the_old_release(path))
    before = _layout(path)
    result = CliRunner().invoke(
        app,
        ["audit", "rebuild", "registry", "--kafka", "127.0.0.1:1"],
        env={"IKM_DATA_DIR": str(tmp_path), "MONGODB_URL": ""},
    )
    assert result.exit_code == 2, result.output
    assert "not in this release's layout yet" in result.output
    assert _layout(path) == before
