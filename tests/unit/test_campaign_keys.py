"""A campaign tag has one canonical key (``contracts.values.campaign_key``): NFKC, spaces
trimmed, case-folded, with its ``#``. The registry keeps the spelling first typed and compares
by the key; insights counts by it, from new events and from events already in the log alike."""

from __future__ import annotations

from datetime import datetime

import pytest

from contracts.registry import EnterpriseUpdated
from contracts.values import campaign_key
from ikmkit.unit_of_work import Units
from services.insights.replicas import EnterpriseReplica, enterprise_after
from services.insights.store import InsightsUnit
from services.registry.domain import rules
from tests.support.insights_feed import MARCH, MAY, Feed, insights_units, points, registered

units = pytest.fixture(insights_units, name="units")

SPELLINGS = [
    "#SemuanyaAdaDisini",
    "semuanyaadadisini",
    "#SEMUANYAADADISINI",
    " #SemuanyaAdaDisini\u3000",  # an ideographic space: a space in NFKC
    "\uff03\uff33emuanya\uff21da\uff24isini",  # fullwidth #, S, A, D (an IME's spelling)
]


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_every_spelling_of_a_campaign_has_one_key(spelling: str) -> None:
    assert campaign_key(spelling) == "#semuanyaadadisini"


def test_the_registry_keeps_the_first_spelling_of_each_campaign() -> None:
    assert rules.check_campaigns([*SPELLINGS, "#BanggaBuatanIndonesia"]) == [
        "#SemuanyaAdaDisini",
        "#BanggaBuatanIndonesia",
    ]
    assert rules.check_campaigns(["\uff03\uff33emuanya"]) == ["#Semuanya"]


def updated(nib: str, campaigns: list[str], at: datetime = MAY) -> EnterpriseUpdated:
    return EnterpriseUpdated(
        nib=nib, province="32", name=f"IKM {nib}", regency="3273", kbli="10792",
        directorate="food_furniture_wood", size_class="small", workforce=1,
        investment_rupiah=1, changed_fields=["campaigns"], updated_at=at, campaigns=campaigns,
    )  # fmt: skip


async def test_insights_counts_each_enterprise_once_per_campaign_whatever_its_spelling(
    units: Units[InsightsUnit],
) -> None:
    # Events as the log holds them, spelled as each regional system typed them.
    await Feed(units).batch(
        registered("1234567890123", campaigns=["#SemuanyaAdaDisini"], at=MARCH),
        registered("1234567890124", campaigns=["#semuanyaadadisini"], at=MARCH),
        updated("1234567890123", ["#SEMUANYAADADISINI", "#BanggaBuatanIndonesia"]),
    )
    assert await points(units, "campaigns.participants", by="dimension") == {
        "campaign:#semuanyaadadisini": 2,
        "campaign:#banggabuatanindonesia": 1,
    }


def test_a_replica_written_with_another_spelling_reads_as_the_same_campaign() -> None:
    # A replica an older release wrote holds the spelling of the event.
    before = EnterpriseReplica(province="32", campaigns=["#SemuanyaAdaDisini"])
    after = enterprise_after(updated("1234567890123", ["#semuanyaAdaDisini"]), before)
    assert after.campaigns == ["#semuanyaadadisini"]
