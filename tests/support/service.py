"""Run a service in-process (real broker, real store) and talk to its HTTP API."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass

import httpx
from fastapi import FastAPI

from contracts.values import Role
from ikmkit.auth import issue_token
from ikmkit.service.runtime import Runtime, ServiceDefinition, create_service_app
from ikmkit.service.settings import DEV_JWT_SECRET


def auth_headers(role: Role, **claims: str) -> dict[str, str]:
    token = issue_token(DEV_JWT_SECRET, subject=f"test-{role}", role=role, **claims)  # type: ignore[arg-type]
    return {"Authorization": f"Bearer {token}"}


@dataclass
class RunningService:
    app: FastAPI
    client: httpx.AsyncClient
    runtime: Runtime


@asynccontextmanager
async def running_service(definition: ServiceDefinition) -> AsyncIterator[RunningService]:
    app = create_service_app(definition)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://service") as client:
            yield RunningService(app, client, app.state.runtime)


@asynccontextmanager
async def running_services(*definitions: ServiceDefinition) -> AsyncIterator[list[RunningService]]:
    """Several services, started at once (as ``ikm dev up`` starts them) and stopped together.

    Each start waits on its consumers' group joins (a second on the embedded broker), so one
    after another a stack of four took four. A start that fails stops the ones that started.
    """
    async with AsyncExitStack() as stack:
        started = await asyncio.gather(
            *(stack.enter_async_context(running_service(d)) for d in definitions),
            return_exceptions=True,
        )
        for outcome in started:
            if isinstance(outcome, BaseException):
                raise outcome
        yield [s for s in started if isinstance(s, RunningService)]
