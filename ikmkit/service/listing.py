"""The one shape of a list response: a page of items and the cursor of the next page."""

from __future__ import annotations

from pydantic import BaseModel, Field

DEFAULT_PAGE = 50
MAX_PAGE = 500


class Listing[T](BaseModel):
    items: list[T]
    next_cursor: str | None = Field(
        None, description="Pass as ``cursor`` to get the next page; absent on the last page."
    )
