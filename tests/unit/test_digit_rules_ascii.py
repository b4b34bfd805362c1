"""Identifiers are ASCII digits and nothing after them: a NIB, NIK, region code, KBLI, postal
code, partner or MoU id or campaign tag with a trailing newline or in other scripts' digits
(fullwidth, Arabic-Indic) is refused with the rule's code, as the published
schema's ``^\\d{13}$`` (ECMA-262: ASCII digits, ``$`` at the very end) says. Python's ``\\d``
matches every script's digits and its ``$`` matches before a final newline, so each such
spelling of a registered NIB or partner id was a second, distinct record."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from contracts.values import Kbli, Nib, Nik, RegencyCode
from ikmkit.service.errors import InvalidInput
from services.registry.domain import link_rules, rules
from services.subsidy.domain.program_terms import _check_kbli_ranges
from services.subsidy.domain.programs import KbliRange


def fullwidth(digits: str) -> str:
    return "".join(chr(ord(d) + 0xFEE0) for d in digits)


def arabic_indic(digits: str) -> str:
    return "".join(chr(ord(d) - ord("0") + 0x0660) for d in digits)


def spellings(value: str) -> list[str]:
    return [value + "\n", fullwidth(value), arabic_indic(value)]


@pytest.mark.parametrize(
    ("kind", "value", "rule"),
    [
        (Nib, "1234567890123", "nib_format"),
        (Nik, "3471010105900001", "nik_length"),
        (RegencyCode, "3471", "regency_unknown"),
        (Kbli, "29300", "kbli_format"),
    ],
)
def test_a_shared_code_is_ascii_digits_only(kind: Any, value: str, rule: str) -> None:
    adapter = TypeAdapter(kind)
    assert adapter.validate_python(value) == value
    for spelled in spellings(value):
        with pytest.raises(ValidationError) as caught:
            adapter.validate_python(spelled)
        assert caught.value.errors()[0]["type"] == rule, repr(spelled)


def rule_of(call: Any, *args: Any) -> str | None:
    with pytest.raises(InvalidInput) as caught:
        call(*args)
    return caught.value.rule


def test_registry_identifiers_refuse_a_trailing_newline_and_other_digits() -> None:
    assert rules.check_nib("1234567890123") == "1234567890123"
    for spelled in spellings("1234567890123"):
        assert rule_of(rules.check_nib, spelled) == "nib_format"
    for spelled in spellings("55111"):
        assert rule_of(rules.check_postal_code, spelled) == "postal_code_format"
    assert rule_of(link_rules.check_partner_id, "smk-1\n") == "partner_id_format"
    assert rule_of(link_rules.check_mou_id, "mou-1\n") == "mou_id_format"
    assert rule_of(rules.check_campaigns, ["#SemuanyaAdaDisini\n"]) == "campaign_format"
    assert rules.check_campaigns(["SemuanyaAdaDisini"]) == ["#SemuanyaAdaDisini"]


def test_a_programs_kbli_range_is_ascii_digits_only() -> None:
    _check_kbli_ranges([KbliRange(from_kbli="10000", to_kbli="33999")])
    for spelled in spellings("10000"):
        with pytest.raises(InvalidInput) as caught:
            _check_kbli_ranges([KbliRange(from_kbli=spelled, to_kbli="33999")])
        assert caught.value.rule == "kbli_format"
