"""Registry -> Kafka -> notify, in-process, on a real broker and both store adapters."""

from __future__ import annotations

import asyncio

from ikmkit.store import Store
from services.notify.main import definition as notify_definition
from services.notify.settings import NotifySettings
from services.registry.main import definition as registry_definition
from services.registry.settings import RegistrySettings
from tests.conftest import make_store
from tests.support.service import auth_headers, running_service
from tests.support.values import random_nib


async def test_registration_reaches_the_inbox(kafka: str, fresh_store: Store, tmp_path) -> None:
    registry_store = make_store("sqlite", tmp_path, None)
    registry = registry_definition(
        RegistrySettings(kafka_bootstrap_servers=kafka), store=registry_store
    )
    notify = notify_definition(NotifySettings(kafka_bootstrap_servers=kafka), store=fresh_store)
    nib = random_nib()
    async with running_service(registry) as reg, running_service(notify) as ntf:
        response = await reg.client.post(
            "/enterprises",
            json={
                "nib": nib,
                "name": "CV Maju",
                "province": "34",
                "regency": "3471",
                "kbli": "29300",
                "workforce": 10,
                "investment_rupiah": 500_000_000,
                "owner_name": "Budi",
                "owner_email": "budi@example.id",
            },
            headers=auth_headers("ministry"),
        )
        assert response.status_code == 201, response.text
        items: list = []
        for _ in range(150):
            got = await ntf.client.get(
                "/inbox",
                params={"recipient": f"enterprise:{nib}"},
                headers=auth_headers("ministry"),
            )
            items = got.json()["items"]
            if items:
                break
            await asyncio.sleep(0.1)
        assert len(items) == 1
        assert nib in items[0]["body"]
