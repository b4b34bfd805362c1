"""The insights consumer's cheaper steps (issue #13, "Speed") give exactly what the steps
they replace gave: a replica's copy is ``model_copy``'s, a cell's fields are
``dict(zip(CELL_FIELDS, key))``, a stock position compares and counts as before, a replica
is written as ``model_dump(mode="json")`` writes it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import BaseModel, Field

from ikmkit.messaging.replica import Replicated
from services.insights.domain.tally import CELL_FIELDS, Position, Tally, cell_fields
from services.insights.replicas import (
    EnterpriseReplica,
    MoUReplica,
    PartnerReplica,
    _document,
    _json_as_is,
    updated,
)

AT = datetime(2026, 5, 4, 3, tzinfo=UTC)


def _same(fast: BaseModel, slow: BaseModel) -> None:
    assert type(fast) is type(slow)
    assert list(fast.__dict__.items()) == list(slow.__dict__.items())
    assert fast.model_fields_set == slow.model_fields_set
    assert fast.model_dump(mode="json") == slow.model_dump(mode="json")
    assert fast.__pydantic_extra__ == slow.__pydantic_extra__
    assert fast.__pydantic_private__ == slow.__pydantic_private__


@pytest.mark.parametrize(
    ("model", "fields"),
    [
        (EnterpriseReplica(province="31", sequence=2, version=1), {"status": "active"}),
        (
            EnterpriseReplica(province="31", regency="3171", campaigns=["a"]),
            {"province": "32", "campaigns": ["a", "b"], "size_class": "medium"},
        ),
        (EnterpriseReplica(province="31"), {}),
        (MoUReplica(scope="vocational_link_and_match"), {"status": "expired"}),
        (PartnerReplica(partner_type="company"), {}),
    ],
)
def test_a_replica_copy_is_model_copys(model: BaseModel, fields: dict[str, Any]) -> None:
    fast, slow = updated(model, fields), model.model_copy(update=fields)
    _same(fast, slow)
    assert fast is not model and fast.__dict__ is not model.__dict__
    assert fast.model_fields_set is not model.model_fields_set
    fast.sequence = 99  # type: ignore[attr-defined]  (as ReplicaView.apply sets it)
    slow.sequence = 99  # type: ignore[attr-defined]
    _same(fast, slow)
    assert model.sequence != 99  # type: ignore[attr-defined]


def test_a_cells_fields_are_named_in_cell_order() -> None:
    key = ("enterprises.registered", 2026, 5, "31", "3171", "size_class:small")
    made = cell_fields(*key)
    assert made == dict(zip(CELL_FIELDS, key, strict=True))
    assert list(made) == list(CELL_FIELDS)


def test_a_position_moves_as_before() -> None:
    here = Position("enterprises.active", "31", "3171", (("size_class", "small"),))
    assert here == Position("enterprises.active", "31", "3171", (("size_class", "small"),))
    assert here != Position("enterprises.active", "31", "3171", (("size_class", "medium"),))
    assert Position("mous.active", None).regency is None
    assert Position("mous.active", None).dimensions == ()
    tally = Tally()
    tally.move(None, here, AT)
    tally.move(here, here, AT)
    tally.move(here, Position("enterprises.suspended", "31", "3171"), AT)
    assert tally.sums == {
        ("enterprises.active", 2026, 5, "31", "3171", "-"): 0,
        ("enterprises.active", 2026, 5, "31", "3171", "size_class:small"): 0,
        ("enterprises.suspended", 2026, 5, "31", "3171", "-"): 1,
    }


@pytest.mark.parametrize(
    "model",
    [
        EnterpriseReplica(province="31", regency="3171", campaigns=["a", "b"], sequence=3),
        EnterpriseReplica(province="31", size_class="small", kbli="12345", version=2),
        PartnerReplica(partner_type="company", province="31"),
        PartnerReplica(),
        MoUReplica(scope="vocational_link_and_match", status="expired", regency="3171"),
    ],
)
def test_a_replica_is_written_as_model_dump_writes_it(model: Replicated) -> None:
    assert _json_as_is(type(model))
    written = _document(model)
    assert written == model.model_dump(mode="json")
    assert list(written) == list(model.model_dump(mode="json"))
    assert written is not model.__dict__


class _Dated(Replicated):
    at: datetime | None = None


class _Renamed(Replicated):
    name: str = Field("x", serialization_alias="label")


@pytest.mark.parametrize("model", [_Dated(at=AT), _Renamed()])
def test_a_replica_with_other_values_is_dumped_by_pydantic(model: Replicated) -> None:
    assert not _json_as_is(type(model))
    assert _document(model) == model.model_dump(mode="json")
