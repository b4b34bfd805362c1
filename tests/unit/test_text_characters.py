"""The one definition of the characters names and free text may not hold
(``ikmkit.service.limits``), as the request types and the domains' row checks apply it."""

from __future__ import annotations

import pytest
from pydantic import TypeAdapter, ValidationError

from ikmkit.service.errors import InvalidInput
from ikmkit.service.limits import Label, Name, Text, check_name

NAMES = TypeAdapter(Name)
TEXTS = TypeAdapter(Text)
LABELS = TypeAdapter(Label)


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("Ana\x00", "control_character"),
        ("Ana\x85", "control_character"),
        ("Ana\u202eSoares", "bidi_control"),
        ("Ana\u2067Soares", "bidi_control"),
        ("Ana\u200dSoares", "zero_width_character"),
        ("\ufeffAna", "zero_width_character"),
    ],
)
def test_a_name_breaking_a_rule_is_refused_alike_at_the_door_and_in_a_row(
    text: str, rule: str
) -> None:
    for adapter in (NAMES, LABELS):
        with pytest.raises(ValidationError) as refused:
            adapter.validate_python(text)
        assert [e["type"] for e in refused.value.errors()] == [rule]
    with pytest.raises(InvalidInput) as in_row:
        check_name(text, "name")
    assert (in_row.value.field, in_row.value.rule) == ("name", rule)


def test_free_text_keeps_line_breaks_tabs_and_emoji_sequences_but_no_bidi_override() -> None:
    family = "Keluarga \U0001f468\u200d\U0001f469\u200d\U0001f467"  # joined by U+200D
    assert TEXTS.validate_python(f"Jl. Malioboro 1\nRT 02\tRW 03 {family}")
    with pytest.raises(ValidationError):
        TEXTS.validate_python("Jl. Malioboro \u202e1")
    assert NAMES.validate_python("Ni Luh Putu Ayu Ñoño-Śrī") == "Ni Luh Putu Ayu Ñoño-Śrī"
