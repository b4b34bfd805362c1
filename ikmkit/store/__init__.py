"""The store port and its adapters (SQLite, MongoDB)."""

from ikmkit.store.port import (
    RETRYABLE,
    CollectionSpec,
    Columns,
    Counters,
    Document,
    DuplicateKey,
    GroupRow,
    In,
    Page,
    Range,
    Store,
    StoreError,
    Transaction,
    TransactionConflict,
    UnstorableValue,
    VersionConflict,
)

__all__ = [
    "RETRYABLE",
    "CollectionSpec",
    "Columns",
    "Counters",
    "Document",
    "DuplicateKey",
    "GroupRow",
    "In",
    "Page",
    "Range",
    "Store",
    "StoreError",
    "Transaction",
    "TransactionConflict",
    "UnstorableValue",
    "VersionConflict",
]
