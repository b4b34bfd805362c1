"""CPU per registration spent in the HTTP plumbing every service shares, in process.

``python -m bench._registry_plumbing [N]``: N ``POST /enterprises`` (default 3000, three
rounds) into the registry's ASGI app with no store, outbox or relay: its ``Units`` is replaced
by one that runs the domain's ``Enterprise.register`` (rules included) and answers. What is
left is the middlewares, routing, dependency solving, body validation and the response, so
a change to them shows here well above the whole registration's run-to-run spread
(``bench._registry_alone``). Prints CPU µs per request (``time.process_time``) per round.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
import time
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

from bench._enterprises import json_body
from bench._registry_alone import _post
from ikmkit.auth import Caller, issue_token
from ikmkit.service.runtime import create_service_app
from ikmkit.service.settings import DEV_JWT_SECRET
from services.registry.bootstrap import Registry
from services.registry.commands import RegisterEnterprise
from services.registry.domain.model import Enterprise
from services.registry.handlers.enterprises import valid_facts
from services.registry.main import definition
from services.registry.settings import RegistrySettings

AT = datetime(2026, 1, 1, tzinfo=UTC)


class _DomainOnly:
    async def run(self, _handler: Any, cmd: RegisterEnterprise, _caller: Caller) -> Enterprise:
        facts = valid_facts(cmd.model_dump(), typed=True)
        return Enterprise.register(cmd.nib, facts, AT).state


def _app() -> Any:
    os.environ.setdefault("IKM_ENV", "development")  # the dev secret signs the bench's token
    app = create_service_app(definition(RegistrySettings()))
    deps = object.__new__(Registry)  # only its units are used here
    object.__setattr__(deps, "units", _DomainOnly())
    app.state.runtime = SimpleNamespace(deps=deps)
    return app


async def main(count: int) -> None:
    logging.disable(logging.CRITICAL)
    app = _app()
    token = issue_token(DEV_JWT_SECRET, subject="bench", role="ministry")
    body = json.dumps(json_body(1, "9000")).encode()
    assert await _post(app, token, body) == 201
    for _ in range(3):
        for _ in range(count // 10):  # warm-up
            await _post(app, token, body)
        started = time.process_time()
        for _ in range(count):
            await _post(app, token, body)
        spent = (time.process_time() - started) / count
        print(f"CPU per request through the plumbing: {spent * 1e6:.1f} µs")


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 3000))
