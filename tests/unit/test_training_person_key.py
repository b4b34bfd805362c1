"""The same person enrolled twice is recognized however the text was composed (session 22
review): a name typed with a precomposed letter (``João``, NFC) or a combining accent (NFD,
as macOS keyboards and some exports write it), or an identity number in fullwidth digits, is
one person, as a name's case and spacing already were."""

from __future__ import annotations

import unicodedata
from typing import Any

from services.training.domain.participants import ParticipantDetails, person_key


def person(**fields: Any) -> ParticipantDetails:
    return ParticipantDetails.model_validate({"kind": "civil_servant", "country": "TL", **fields})


def test_a_name_composed_either_way_is_one_person() -> None:
    composed = unicodedata.normalize("NFC", "João da Conceição")
    decomposed = unicodedata.normalize("NFD", composed)
    assert composed != decomposed
    assert person_key(person(name=composed)) == person_key(person(name=decomposed))
    assert person_key(person(name="JOÃO  da conceição")) == person_key(person(name=composed))


def test_an_identity_number_in_fullwidth_digits_is_the_same_number() -> None:
    ascii_id = person(name="A", external_id="3471010105900001")
    fullwidth = "".join(chr(ord(d) + 0xFEE0) for d in "3471010105900001")
    assert person_key(person(name="A", external_id=fullwidth)) == person_key(ascii_id)
    assert person_key(person(name="B", external_id="p123 ")) == person_key(
        person(name="B", external_id="P123")
    )
