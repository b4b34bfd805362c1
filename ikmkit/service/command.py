"""What a request's body is made of: ``Command``, a model that refuses a field it does not
declare (422 ``extra_forbidden`` naming it) rather than ignoring it.

An ignored field is a silent wrong answer: a misspelled optional field takes its default
(``eligible_directorate`` for ``eligible_directorates`` made a program open to every
sector), a field a newer client sends is dropped without a word. Events are not commands:
``contracts`` keep reading fields they do not know, as a consumer of a newer producer must.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Command(BaseModel):
    """A request body, or a part of one (a line, a party, a row)."""

    model_config = ConfigDict(extra="forbid")
