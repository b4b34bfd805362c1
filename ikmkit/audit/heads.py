"""What the outboxes say was published: each aggregate stream's head, read from a service.

Every service's outbox keeps one head row per stream (``outbox_streams``, id
``<topic>|<aggregate id>``): the last sequence number stamped and its chain hash,
committed with the state change. Rows are relayed in order along a stream and marked
sent after the broker acknowledged them, so a stream's unsent rows are always its last
ones; the **published head** of a stream is its head sequence minus its unsent rows.
Everything up to the published head must be on the log; unsent events are not
missing yet, they are the relay's backlog.

Heads are read with ``read_heads`` (keyset pages in stream-id order), served by every
service at ``GET /audit/heads`` (``ikmkit.audit.heads_api``) and collected by the audit
over HTTP (``fetch_heads``) or straight from a store (``heads_from_store``, offline).
"""

from __future__ import annotations

import re
import struct
import sys
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from ikmkit.messaging.outbox import LEASE_ID, OUTBOX, OUTBOX_STREAMS
from ikmkit.store import In, Range, Store

MAX_HEADS_PAGE = 5000
"""Stream heads per page at most (not ``ikmkit.service.listing``'s page of a list endpoint)."""
DEFAULT_HEADS_PAGE = 1000


@dataclass(frozen=True, slots=True)
class StreamHead:
    """One stream's head (slots: an audit holds one per aggregate of the platform)."""

    topic: str
    aggregate: str
    sequence: int  # the last sequence number stamped in the outbox
    hash: str  # its chain hash
    unsent: int = 0  # how many of the stream's last events the relay has not published yet

    @property
    def published(self) -> int:
        """The last sequence number the outbox says was published."""
        return self.sequence - self.unsent

    def as_json(self) -> dict[str, Any]:
        return {
            "topic": self.topic,
            "aggregate": self.aggregate,
            "sequence": self.sequence,
            "hash": self.hash,
            "unsent": self.unsent,
            "published": self.published,
        }


@dataclass(frozen=True)
class HeadsPage:
    items: list[StreamHead]
    next: str | None  # pass as ``after`` for the next page


_NUMBERS = struct.Struct(">qq")  # sequence, unsent
_HEX_DIGEST = re.compile("[0-9a-f]{64}")


class HeadTable(Mapping[tuple[str, str], StreamHead]):
    """(topic, aggregate) -> ``StreamHead``, held compactly: an audit holds one per aggregate
    of the platform (millions). Per topic, aggregate -> sequence and unsent (16 bytes) and the
    hash (its 32-byte digest when it is one, else the text); a ``StreamHead`` is made on access.
    """

    def __init__(self) -> None:
        self._topics: dict[str, dict[str, bytes | StreamHead]] = {}

    def add(self, head: StreamHead) -> None:
        self._topics.setdefault(sys.intern(head.topic), {})[head.aggregate] = _packed(head)

    def __getitem__(self, key: tuple[str, str]) -> StreamHead:
        topic, aggregate = key
        value = self._topics.get(topic, {})[aggregate]
        if isinstance(value, StreamHead):
            return value
        sequence, unsent = _NUMBERS.unpack_from(value)
        return StreamHead(topic, aggregate, sequence, value[16:].hex(), unsent)

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, tuple) or len(key) != 2:
            return False
        return key[1] in self._topics.get(key[0], {})

    def __iter__(self) -> Iterator[tuple[str, str]]:
        for topic, heads in self._topics.items():
            for aggregate in heads:
                yield topic, aggregate

    def __len__(self) -> int:
        return sum(len(heads) for heads in self._topics.values())


def _packed(head: StreamHead) -> bytes | StreamHead:
    """The head in 48 bytes, or as it is if it does not pack back to itself exactly."""
    if not (_HEX_DIGEST.fullmatch(head.hash) and _fits(head.sequence) and _fits(head.unsent)):
        return head
    return _NUMBERS.pack(head.sequence, head.unsent) + bytes.fromhex(head.hash)


def _fits(number: int) -> bool:
    return -(2**63) <= number < 2**63


@dataclass
class OutboxHeads:
    """The heads of every stream of the services that answered, and which topics they own."""

    sources: dict[str, str] = field(default_factory=dict)  # service -> where heads came from
    topics: set[str] = field(default_factory=set)  # every topic those services produce
    streams: HeadTable = field(default_factory=HeadTable)

    def add(
        self, service: str, where: str, produces: Sequence[str], heads: Sequence[StreamHead]
    ) -> None:
        self.sources[service] = where
        self.topics.update(produces)
        for head in heads:
            self.streams.add(head)


def _split(stream_id: str) -> tuple[str, str]:
    topic, _, aggregate = stream_id.partition("|")
    return sys.intern(topic), aggregate  # one string per topic, not one per stream


async def read_heads(
    store: Store,
    *,
    topic: str | None = None,
    after: str | None = None,
    limit: int = DEFAULT_HEADS_PAGE,
) -> HeadsPage:
    """One page of stream heads in stream-id order, after the stream id ``after``.

    Heads and unsent counts are read in one transaction, so they agree with each other.
    """
    lower = f"{topic}|" if topic else None
    if after is not None and (lower is None or after > lower):
        lower = after
    upper = f"{topic}}}" if topic else None  # "}" follows "|": every id of the topic is below
    where = {"id": Range(gte=lower, lt=upper)} if lower or upper else {}
    async with store.transaction() as uow:
        page = await uow.find(OUTBOX_STREAMS, where, order_by=[("id", 1)], limit=limit + 1)
        rows = [r for r in page.items if r["id"] != after]
        more = len(page.items) > limit  # limit + 1 asked: something may follow this page
        rows = rows[:limit]
        heads = [r for r in rows if r["id"] != LEASE_ID]
        unsent = await _unsent_counts(uow, heads)
    items = [
        StreamHead(
            *_split(str(r["id"])),
            sequence=int(r["sequence"]),
            hash=str(r["hash"]),
            unsent=unsent.get(_split(str(r["id"])), 0),
        )
        for r in heads
    ]
    return HeadsPage(items, str(rows[-1]["id"]) if more and rows else None)


async def _unsent_counts(uow: Any, heads: list[dict[str, Any]]) -> dict[tuple[str, str], int]:
    if not heads:
        return {}
    streams = [_split(str(r["id"])) for r in heads]
    where = {
        "sent": False,
        "topic": In(sorted({t for t, _ in streams})),
        "key": In(sorted({a for _, a in streams})),
    }
    groups = await uow.group(OUTBOX, ["topic", "key"], where)
    return {(str(g.key["topic"]), str(g.key["key"])): g.count for g in groups}


async def heads_from_store(store: Store, *, topic: str | None = None) -> list[StreamHead]:
    """Every stream head of an opened store (offline audits)."""
    return [head async for page in head_pages(store, topic=topic) for head in page]


async def head_pages(store: Store, *, topic: str | None = None) -> AsyncIterator[list[StreamHead]]:
    """The stream heads of an opened store, page by page (an audit keeps them compactly)."""
    after: str | None = None
    while True:
        page = await read_heads(store, topic=topic, after=after, limit=MAX_HEADS_PAGE)
        yield page.items
        if page.next is None:
            return
        after = page.next


def _head(item: dict[str, Any]) -> StreamHead:
    return StreamHead(
        sys.intern(str(item["topic"])),
        str(item["aggregate"]),
        int(item["sequence"]),
        str(item["hash"]),
        int(item["unsent"]),
    )


class HeadsUnavailable(Exception):
    """A service did not answer with its heads: the audit cannot vouch for its topics."""


async def fetch_heads(
    url: str, token: str, *, topic: str | None = None, timeout: float = 30.0
) -> tuple[str, list[str], list[StreamHead]]:
    """(service name, topics it produces, every stream head) from ``url``/audit/heads."""
    heads: list[StreamHead] = []
    params: dict[str, str | int] = {"limit": MAX_HEADS_PAGE}
    if topic:
        params["topic"] = topic
    async with httpx.AsyncClient(
        base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=timeout
    ) as client:
        while True:
            try:
                response = await client.get("/audit/heads", params=params)
            except httpx.HTTPError as exc:
                raise HeadsUnavailable(f"{url}: {type(exc).__name__}: {exc}") from exc
            if response.status_code != 200:
                raise HeadsUnavailable(f"{url}: HTTP {response.status_code}: {response.text[:300]}")
            body = response.json()
            heads += [_head(item) for item in body["items"]]
            if body.get("next") is None:
                return str(body["service"]), list(body["produces"]), heads
            params["after"] = str(body["next"])
