"""Fresh values for tests that share a broker or a store: a NIB no other test uses."""

from __future__ import annotations

import uuid


def random_nib() -> str:
    """13 digits, random: tests on one broker never see each other's enterprises."""
    return str(uuid.uuid4().int)[:13].rjust(13, "1")
