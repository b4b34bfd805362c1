"""Notify persistence: in-app inbox."""

from __future__ import annotations

from ikmkit.store import CollectionSpec

INBOX_MESSAGES = "inbox_messages"

COLLECTIONS = (CollectionSpec(INBOX_MESSAGES, indexes=[("recipient", "created_at")]),)
