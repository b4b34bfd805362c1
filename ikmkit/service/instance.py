"""Which process answered: every response names the service instance that produced it.

A launcher (``ikm dev up``, the e2e stack) generates an instance id per child and passes it
in ``IKM_INSTANCE_ID``; its readiness wait accepts only answers carrying that id, so another
process listening on the same port can never pass for the child. Without the variable the
process makes up its own id (still unique per process).
"""

from __future__ import annotations

import os
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

INSTANCE_ENV = "IKM_INSTANCE_ID"
INSTANCE_HEADER = "ikm-instance"


def instance_id() -> str:
    return os.environ.get(INSTANCE_ENV) or uuid.uuid4().hex


class InstanceHeader:
    """ASGI middleware adding ``ikm-instance: <id>`` (and nothing else) to every response."""

    def __init__(self, app: ASGIApp, instance: str) -> None:
        self.app = app
        self.header = (INSTANCE_HEADER.encode(), instance.encode())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def stamped(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), self.header]
            await send(message)

        await self.app(scope, receive, stamped)
