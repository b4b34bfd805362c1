"""Notify through the running stack: a registration e-mails its owner (once) via real SMTP."""

from __future__ import annotations

import uuid

import httpx

from ikm_cli.devextras import SmtpSink
from tests.support.kafka import eventually
from tests.support.registry_api import enterprise_body
from tests.support.service import auth_headers
from tests.support.stack import Stack

MINISTRY = auth_headers("ministry")


def registration(nib: str, email: str) -> dict[str, object]:
    return enterprise_body(
        nib, name="UD Rotan Lestari", owner_name="Sri Wahyuni", owner_email=email, kbli="16292"
    )


async def test_the_owner_gets_one_email_and_the_ledger_says_everyone_was_told(
    stack: Stack, smtp_sink: SmtpSink
) -> None:
    nib = str(uuid.uuid4().int)[:13]
    email = f"owner-{nib}@example.id"
    async with httpx.AsyncClient(timeout=10) as client:
        created = await client.post(
            f"{stack.urls['registry']}/enterprises", json=registration(nib, email), headers=MINISTRY
        )
        assert created.status_code == 201, created.text

        async def mail() -> list:
            return smtp_sink.to(email)

        [message] = await eventually(mail, timeout=60)
        body = message.get_body(preferencelist=("plain", "html"))
        assert body is not None
        assert nib in body.get_content()
        assert "Sri Wahyuni" not in str(message["Subject"])

        inbox = await client.get(
            f"{stack.urls['notify']}/inbox",
            params={"recipient": f"enterprise:{nib}"},
            headers=MINISTRY,
        )
        event_id = inbox.json()["items"][0]["event_id"]

        async def everyone_told() -> dict | None:
            report = await client.get(
                f"{stack.urls['notify']}/deliveries",
                params={"event_id": event_id},
                headers=MINISTRY,
            )
            body = report.json()
            return body if body["all_delivered"] else None

        report = await eventually(everyone_told, timeout=60)
    assert report["total"] >= 2  # the owner's e-mail and inbox, at least
    assert len(smtp_sink.to(email)) == 1
