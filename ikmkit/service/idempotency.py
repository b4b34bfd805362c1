"""``Idempotency-Key`` (IETF draft-ietf-httpapi-idempotency-key-header): a client that sends a
POST again after a timeout gets the first answer again, not a second record and event.

A route takes the header with the ``IdempotencyKey`` dependency (documented by
``IDEMPOTENT_ROUTE``) and runs its handler as ``idempotent(handler, Model, route)``. In the
handler's own unit of work (the transaction of the records and events it writes, not a
middleware's best effort), the key is looked up for the caller and the route:

- not seen, or expired: the handler runs, and the key is stored with a fingerprint of the
  request (SHA-256 of the validated body as canonical JSON) and the response, committed with
  the effect or not at all;
- seen with the same fingerprint: the first response again (same status and body), nothing
  written, no event;
- seen with another body: 422 ``invalid.idempotency_key_reused``.

Two requests with one key racing: one commits; the other's insert of the key fails
(``DuplicateKey``), so its unit of work runs again and finds the key: the first response.
Keys are scoped by the caller (``Caller.subject``) and the route, kept ``RETENTION``, then
deleted by ``purge_idempotency_keys``. Every service's store has the keys' collection
(``ServiceDefinition.store_collections``) and its lifespan runs the purge.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import logging
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import Depends, Request
from pydantic import BaseModel

from ikmkit.auth import Caller
from ikmkit.service.errors import InvalidInput
from ikmkit.store import CollectionSpec, DuplicateKey, Range, Store
from ikmkit.store.times import stored_time
from ikmkit.unit_of_work import RETRY_ATTRIBUTE, ConflictRetry, UnitOfWork

log = logging.getLogger("ikmkit.idempotency")

HEADER = "Idempotency-Key"
KEYS = "idempotency_keys"
COLLECTIONS = (CollectionSpec(KEYS, indexes=[("expires_at",)], times=("expires_at",)),)
"""The keys' collection, in every service's store (``ServiceDefinition.store_collections``)."""
RETENTION = timedelta(hours=24)
"""How long a key answers with its first response (the draft leaves it to the server)."""
KEY_MAX = 255
PURGE_INTERVAL = 3600.0
_SF_STRING = re.compile(r'"(?:[ !#-\[\]-~]|\\["\\])*"')
"""RFC 8941 sf-string: printable ASCII, ``"`` and ``\\`` only escaped."""
_SF_ESCAPE = re.compile(r'\\(["\\])')

IDEMPOTENT_ROUTE: dict[str, Any] = {
    "parameters": [
        {
            "name": HEADER,
            "in": "header",
            "required": False,
            "description": (
                "A unique value per intended request (a UUID), as a Structured Field string"
                ' (`"8e03978e-40d5-43e8-bc93-6894a57f9324"`; unquoted is accepted too). The'
                " same key with the same body within 24 hours answers the first response"
                " again; with another body, 422 invalid.idempotency_key_reused."
            ),
            "schema": {"type": "string", "maxLength": KEY_MAX + 2},
        }
    ]
}
"""``openapi_extra`` of a route taking the header (the dependency reads it from the request,
which keeps the route on ``LeanRoute``'s path)."""


def parse_key(value: str) -> str:
    """The key of a header value: an sf-string (RFC 8941: quoted, ``\\"`` and ``\\\\``
    escapes, printable ASCII), or the same characters unquoted."""
    text = value.strip()
    if len(text) >= 2 and text[0] == text[-1] == '"':
        text = (
            _SF_ESCAPE.sub(lambda m: m.group(1), text[1:-1]) if _SF_STRING.fullmatch(text) else ""
        )
    elif '"' in text or "\\" in text:
        text = ""  # a quote or escape outside an sf-string: a client's quoting gone wrong
    if not 0 < len(text) <= KEY_MAX or not all(" " <= c <= "~" for c in text):
        raise InvalidInput(
            f"{HEADER} must be 1 to {KEY_MAX} printable ASCII characters (a UUID, quoted)",
            field=HEADER,
            rule="idempotency_key_format",
        )
    return text


async def idempotency_key(request: Request) -> str | None:
    """The ``Idempotency-Key`` of the request, if it has one (a FastAPI dependency)."""
    value = request.headers.get(HEADER)
    return None if value is None else parse_key(value)


IdempotencyKey = Annotated[str | None, Depends(idempotency_key)]


def fingerprint(body: BaseModel) -> str:
    """The request as validated (defaults filled, types coerced), as canonical JSON, hashed:
    the same request spelled with other whitespace or key order is the same request."""
    text = json.dumps(body.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def record_id(route: str, caller: Caller, key: str) -> str:
    """Keys are the caller's own: another caller's key never answers (nor blocks) this one."""
    return hashlib.sha256(f"{route}\n{caller.subject}\n{key}".encode()).hexdigest()


def idempotent[U: UnitOfWork, C: BaseModel, M: BaseModel](
    handler: Callable[[U, C, Caller], Awaitable[M]], model: type[M], route: str
) -> Callable[[U, str | None, C, Caller], Awaitable[M]]:
    """``handler`` run for ``Units.run(..., key, body, caller)``, answering a key seen before
    from its record; ``model`` is the response's type, ``route`` names the operation."""

    async def run(uow: U, key: str | None, body: C, caller: Caller) -> M:
        if key is None:
            return await handler(uow, body, caller)
        doc_id = record_id(route, caller, key)
        sent = fingerprint(body)
        found = await uow.tx.get(KEYS, doc_id)
        if found is not None and found["expires_at"] > stored_time(uow.now):
            if found["fingerprint"] != sent:
                raise InvalidInput(
                    f"this {HEADER} was used for another request to {route}; use a new key",
                    field=HEADER,
                    rule="idempotency_key_reused",
                )
            return model.model_validate(found["response"])
        answer = await handler(uow, body, caller)
        if found is not None:
            await uow.tx.delete(KEYS, doc_id)  # expired: the key starts again
        record = {
            "id": doc_id,
            "route": route,
            "fingerprint": sent,
            "response": answer.model_dump(mode="json"),
            "expires_at": stored_time(uow.now + RETENTION),
        }
        await uow.tx.insert(KEYS, record)  # DuplicateKey if a racer committed it first
        return answer

    policy: ConflictRetry = getattr(handler, RETRY_ATTRIBUTE, ConflictRetry())
    also = dataclasses.replace(policy, retry_on=(*policy.retry_on, DuplicateKey))
    setattr(run, RETRY_ATTRIBUTE, also)
    return run


async def purge_expired_keys(store: Store, now: datetime, *, batch: int = 500) -> int:
    """Delete the keys past their retention, ``batch`` a transaction; how many."""
    purged = 0
    while True:
        async with store.transaction() as tx:
            where = {"expires_at": Range(lt=stored_time(now))}
            page = await tx.find(KEYS, where, limit=batch)
            for doc in page.items:
                await tx.delete(KEYS, doc["id"])
        purged += len(page.items)
        if len(page.items) < batch:
            return purged


async def purge_idempotency_keys(deps: object, runtime: Any) -> None:
    """Every hour, the expired keys deleted (every service's lifespan runs it)."""
    while True:
        try:
            purged = await purge_expired_keys(runtime.store, datetime.now(UTC))
            if purged:
                log.info("purged %d expired idempotency keys", purged)
        except Exception:
            log.exception("idempotency key purge failed; retrying next pass")
        await asyncio.sleep(PURGE_INTERVAL)
