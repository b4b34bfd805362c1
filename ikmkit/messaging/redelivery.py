"""What a consumer does with an event it could not handle: retry it (``RedeliveryPolicy``)
or, for a failure no retry can mend (``PermanentError``), dead-letter it at once."""

from __future__ import annotations

import random
from dataclasses import dataclass

from ikmkit.messaging.authenticity import FORGED

__all__ = ["PermanentError", "RedeliveryPolicy", "ReplayedSignature"]


class PermanentError(Exception):
    """The event is valid but can never be processed; retrying cannot help."""

    reason = "unprocessable"


class ReplayedSignature(PermanentError):
    """A signed ``ce_hash`` of an event without ``ce_prevhash`` this group processed
    already, under another ``ce_id``: a copy of a genuine signature (on the same content or
    on other content, which the consumer cannot tell apart without ``ce_prevhash``), never a
    redelivery (that keeps its id)."""

    reason = FORGED


@dataclass(frozen=True)
class RedeliveryPolicy:
    """How often a consumer tries an event that failed transiently before dead-lettering it.

    Not ``ikmkit.unit_of_work.ConflictRetry``: that one re-runs a unit of work that lost an
    optimistic-concurrency race; this one re-delivers an event whose handling failed."""

    max_attempts: int = 5
    base_delay: float = 0.2
    max_delay: float = 10.0

    def delay(self, attempt: int) -> float:
        """Full-jitter exponential backoff before attempt ``attempt + 1``."""
        ceiling = min(self.max_delay, self.base_delay * (2 ** (attempt - 1)))
        return random.uniform(ceiling / 2, ceiling)
