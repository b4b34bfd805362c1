"""The store port: a narrow, typed document-store interface the services build on.

Documents are JSON-compatible dicts with a string ``id``. Every stored document
carries an integer ``version`` (1 on insert, +1 on every write) used for
optimistic concurrency: ``replace`` succeeds only if the stored version equals
the version of the document passed in.

All reads and writes happen inside a unit of work opened by
``Store.transaction()``; the unit of work commits when the ``async with`` block
exits normally and rolls back when it raises. The outbox and inbox live in the
same store, so a state change, the events it emits and the ids of the events it
consumed commit together (see ``ikmkit.messaging.outbox`` and ``ikmkit.messaging.inbox``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

Document = dict[str, Any]
Direction = Literal[1, -1]
OrderBy = Sequence[tuple[str, Direction]]


@dataclass(frozen=True)
class Counters:
    """What makes a collection a counter collection: each document is one counter, named by
    its ``fields`` (top-level, scalar, never null) and holding an integer ``value``; nothing
    else (but ``id`` and ``version``). Its ``id`` is ``id_of`` it (the fields' values joined
    by ``|``, in ``fields``' order, each with ``\\`` and ``|`` escaped: ``id_part``): an
    adapter may derive it rather than store it, so ``insert`` refuses a document whose id is
    another, and ``add_counts`` need not read it.

    An adapter may store such a collection as rows keyed by the fields in ``order`` (SQLite:
    real columns, the primary key; MongoDB: an index of ``order`` and ``value``), which then
    answers from the key alone the reads that fix its leading fields. Reading a counter by
    ``id`` (``get``, ``get_many``, ``delete``) may scan the collection: read counters by their
    fields. ``replace`` and the ``patch`` operations are not for counters (``add_counts``).

    ``dropped``: filters of counters no longer written (their figures are read from others);
    the adapter deletes what matches when the store opens, so a store written before holds
    what one rebuilt from the log holds. Make them match by the key's leading fields."""

    fields: Sequence[str]
    value: str = "value"
    order: Sequence[str] = ()
    dropped: Sequence[Mapping[str, Any]] = ()

    @property
    def key(self) -> Sequence[str]:
        """The fields in the order the counters are keyed by."""
        return self.order or self.fields

    def id_of(self, doc: Mapping[str, Any]) -> str:
        """The counter's id; ``StoreError`` if one of its fields is missing or null."""
        values = [doc.get(f) for f in self.fields]
        if any(v is None for v in values):
            raise StoreError(f"a counter needs each of {', '.join(self.fields)}")
        return "|".join(map(id_part, values))

    def checked(self, collection: str, doc: Mapping[str, Any]) -> str:
        """The id of ``doc``, a counter to insert; ``StoreError`` if it is not one (a field
        missing or null, another field, another id)."""
        doc_id = self.id_of(doc)
        allowed = {*self.fields, self.value, "id", "version"}
        if doc.get("id", doc_id) != doc_id or not allowed.issuperset(doc):
            raise StoreError(f"{collection}: {doc.get('id')!r} is not a counter document")
        return doc_id


def id_part(value: Any) -> str:
    """One field of a counter's id: ``\\`` and ``|`` escaped with a backslash, so two
    counters never share an id (``a|b`` + ``c`` and ``a`` + ``b|c`` did); a value with
    neither has the id it had before the escape."""
    text = str(value)
    if "|" in text or "\\" in text:
        return text.replace("\\", "\\\\").replace("|", "\\|")
    return text


@dataclass(frozen=True)
class Columns:
    """Top-level fields an adapter may keep beside the document (SQLite: table columns), for
    fields that are filtered or ordered by or written often: a column is set without
    rewriting the document and indexed without parsing it. Their values are None, bool, int,
    float or str (``flags``: the booleans among them). None and a missing field are the same:
    a document read back may lack it (read such a field with ``get``). ``indexes``: (fields,
    condition), the condition a filter of constants (True, False or None per field) naming
    the rows the index holds (SQLite: a partial index, which a query uses when its filter
    has the same terms); they replace the spec's ``indexes`` where columns are kept,
    elsewhere the spec's are used."""

    fields: Sequence[str]
    flags: Sequence[str] = ()
    indexes: Sequence[tuple[Sequence[str], Mapping[str, bool | None]]] = ()


@dataclass(frozen=True)
class CollectionSpec:
    """A collection, its unique keys and its secondary indexes (field paths, dotted);
    ``counter``: a counter collection (``Counters``); ``columns``: fields kept as columns;
    ``times``: top-level fields holding times that are filtered or ordered by, written in
    ``ikmkit.store.times.stored_time``'s fixed-width form (text order is time order): the
    adapter rewrites a value written in another form (by code before) when the store opens."""

    name: str
    unique: Sequence[Sequence[str]] = ()
    indexes: Sequence[Sequence[str]] = ()
    counter: Counters | None = None
    columns: Columns | None = None
    times: Sequence[str] = ()


@dataclass(frozen=True)
class In:
    """Filter value: the field equals one of ``values``."""

    values: Sequence[Any]


@dataclass(frozen=True)
class Range:
    """Filter value: ``gte <= field < lt`` (either bound optional)."""

    gte: Any = None
    lt: Any = None


Filter = Mapping[str, Any]
"""Field path -> value (equality; ``None`` matches a missing or null field), ``In`` or ``Range``."""


@dataclass(frozen=True)
class Page:
    items: list[Document]
    next_cursor: str | None


@dataclass(frozen=True)
class GroupRow:
    key: dict[str, Any]
    count: int
    sums: dict[str, int | float] = field(default_factory=dict)


class StoreError(Exception):
    """Base class of the errors a store adapter raises."""


class UnstorableValue(StoreError, ValueError):
    """A value no store can hold: text that is not valid Unicode (a lone surrogate) or an
    integer outside the signed 64-bit range. The caller's input was wrong, not the store."""


def unstorable(exc: Exception) -> UnstorableValue:
    """The ``UnstorableValue`` for an adapter's encoding error (see ``ENCODING_ERRORS``)."""
    if isinstance(exc, OverflowError):
        return UnstorableValue("an integer is outside the signed 64-bit range")
    return UnstorableValue("text is not valid Unicode (it contains a lone surrogate)")


ENCODING_ERRORS: tuple[type[Exception], ...] = (UnicodeEncodeError, OverflowError)
"""What the drivers raise for such values: UTF-8 encoding of a surrogate, a too-large int."""


class DuplicateKey(StoreError):
    def __init__(self, collection: str, fields: Sequence[str], existing_id: str | None) -> None:
        self.collection = collection
        self.fields = tuple(fields)
        self.existing_id = existing_id
        super().__init__(
            f"{collection}: a document with the same {', '.join(self.fields)} exists"
            f" (id {existing_id})"
        )


class VersionConflict(StoreError):
    def __init__(self, collection: str, doc_id: str, expected_version: int) -> None:
        self.collection = collection
        self.doc_id = doc_id
        self.expected_version = expected_version
        super().__init__(
            f"{collection}/{doc_id} was changed concurrently (expected version {expected_version})"
        )


class TransactionConflict(StoreError):
    """The transaction lost a race with a concurrent one; retry the whole unit of work."""


RETRYABLE = (VersionConflict, TransactionConflict)


class Transaction(Protocol):
    """One transaction's view of the store."""

    async def get(self, collection: str, doc_id: str) -> Document | None: ...

    async def get_many(self, collection: str, doc_ids: Sequence[str]) -> dict[str, Document]: ...

    async def insert(self, collection: str, doc: Document) -> Document:
        """Insert a new document (version 1); ``DuplicateKey`` on id or unique-key clash."""
        ...

    async def insert_many(self, collection: str, docs: Sequence[Document]) -> None: ...

    async def replace(self, collection: str, doc: Document) -> Document:
        """Write ``doc`` if the stored version is ``doc['version']``, else ``VersionConflict``."""
        ...

    async def replace_many(self, collection: str, docs: Sequence[Document]) -> None:
        """``replace`` each of ``docs`` (distinct ids), in one go: ``VersionConflict`` if any
        stored version is not its ``doc['version']`` (the transaction must then be abandoned)."""
        ...

    async def patch_many(
        self, collection: str, doc_ids: Sequence[str], fields: Mapping[str, Any]
    ) -> int:
        """Set ``fields`` on the given documents unconditionally; returns how many matched."""
        ...

    async def patch_each(self, collection: str, patches: Mapping[str, Mapping[str, Any]]) -> int:
        """Set each document's own ``fields`` (id -> fields) unconditionally, in one go."""
        ...

    async def add_counts(
        self, collection: str, field: str, counts: Sequence[tuple[Document, int]]
    ) -> None:
        """Counters, in one go and without reading them first: for each (document, delta)
        (distinct ids), add ``delta`` to the stored document's ``field`` (version + 1), or
        insert ``document`` with ``field`` = ``delta`` (version 1) if its id is not stored;
        the rest of a stored document is left as it is. A counter that ends at 0 is deleted
        (a counter at 0 and no counter are the same), so what is stored depends only on the
        sum of the deltas, not on their order. A delta of 0 is skipped."""
        ...

    async def add_count_rows(self, collection: str, rows: Sequence[Sequence[Any]]) -> None:
        """``add_counts`` on a counter collection (``Counters``), each counter given as a row:
        its fields' values in ``Counters.fields``' order, then its delta to ``Counters.value``
        (no document built per counter only to be taken apart again: a tally's keys as they
        are). Same effects as ``add_counts``; a delta of 0 is skipped; ``StoreError`` for a
        collection that is not a counter collection or a row of another width."""
        ...

    async def delete(self, collection: str, doc_id: str) -> bool: ...

    async def find(
        self,
        collection: str,
        where: Filter | None = None,
        *,
        order_by: OrderBy = (),
        limit: int = 100,
        cursor: str | None = None,
    ) -> Page:
        """Matching documents ordered by ``order_by`` then ``id`` (``id`` is only ever that
        tie-breaker; a counter collection's is its key, ``Counters.key``, which its layout
        serves: an order by an id made of several fields could only be sorted, each page);
        pass ``next_cursor`` on."""
        ...

    async def count(self, collection: str, where: Filter | None = None) -> int: ...

    async def group(
        self,
        collection: str,
        by: Sequence[str],
        where: Filter | None = None,
        *,
        sums: Sequence[str] = (),
    ) -> list[GroupRow]:
        """Counts (and sums of numeric fields) per distinct combination of ``by`` fields."""
        ...


class Store(Protocol):
    """A service's own database. One per service; never shared."""

    kind: str

    async def open(self, collections: Sequence[CollectionSpec]) -> None: ...

    async def close(self) -> None: ...

    async def ping(self) -> None: ...

    def transaction(self, *, read_only: bool = False) -> AbstractAsyncContextManager[Transaction]:
        """One atomic unit; ``read_only``: a query's, which an adapter may run apart from the
        writes (it must still see only committed data)."""
        ...
