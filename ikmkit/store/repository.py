"""The one shape of a repository: an aggregate's pydantic model in one collection.

A service's repository subclasses ``Repository[M]``, names its collection, model and id
field, and adds the queries its use cases need. The model carries the store's ``version``;
``save`` writes only over the version that was read (``VersionConflict`` otherwise, which the
unit of work retries), so no update is ever lost.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from pydantic import BaseModel

from ikmkit.service.errors import NotFound
from ikmkit.store.port import Filter, OrderBy, Transaction
from ikmkit.store.times import with_stored_times


class Versioned(BaseModel):
    version: int = 0
    """The store's version of the document this was read from (0: not stored yet)."""


class Repository[M: Versioned]:
    collection: ClassVar[str]
    model: type[M]
    id_field: ClassVar[str]
    what: ClassVar[str] = "record"
    """How a ``NotFound`` names a missing one ("enterprise", "program"...)."""
    times: ClassVar[Sequence[str]] = ()
    """The collection's ``CollectionSpec.times``: written in the fixed-width stored form."""

    def __init__(self, tx: Transaction) -> None:
        self.tx = tx

    def _doc(self, item: M) -> dict[str, Any]:
        return {**item.model_dump(mode="json"), "id": str(getattr(item, self.id_field))}

    def _stored(self, item: M) -> dict[str, Any]:
        """The document written: ``_doc`` with ``times`` in the stored form."""
        doc = self._doc(item)
        return with_stored_times(doc, self.times) if self.times else doc

    def _load(self, doc: dict[str, Any]) -> M:
        return self.model.model_validate(doc)

    async def find_one(self, item_id: str) -> M | None:
        doc = await self.tx.get(self.collection, item_id)
        return None if doc is None else self._load(doc)

    async def get(self, item_id: str) -> M:
        """The stored one, or ``NotFound`` (404) naming it."""
        found = await self.find_one(item_id)
        if found is None:
            raise NotFound(f"{self.what} {item_id} not found")
        return found

    async def get_many(self, item_ids: Sequence[str]) -> dict[str, M]:
        docs = await self.tx.get_many(self.collection, item_ids)
        return {item_id: self._load(doc) for item_id, doc in docs.items()}

    async def add(self, item: M) -> M:
        """Insert a new one (``DuplicateKey`` if its id or a unique key is taken)."""
        stored = await self.tx.insert(self.collection, self._stored(item))
        return item.model_copy(update={"version": stored["version"]})

    async def add_many(self, items: Sequence[M]) -> None:
        await self.tx.insert_many(self.collection, [self._stored(item) for item in items])

    async def save(self, item: M) -> M:
        """Write over the version that was read (``VersionConflict`` if it changed since)."""
        stored = await self.tx.replace(self.collection, self._stored(item))
        return item.model_copy(update={"version": stored["version"]})

    async def page(
        self,
        where: Filter | None = None,
        *,
        order_by: OrderBy = (),
        limit: int = 100,
        cursor: str | None = None,
    ) -> tuple[list[M], str | None]:
        found = await self.tx.find(
            self.collection, where, order_by=order_by, limit=limit, cursor=cursor
        )
        return [self._load(doc) for doc in found.items], found.next_cursor
