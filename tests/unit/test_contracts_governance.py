"""Contract governance: generated files are fresh, and the compatibility gate.

The gate tests build old/new pairs from real pydantic models, generated the same
way the committed schemas are, so they test the rules on the schemas we ship.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import ClassVar, Literal

import pytest
import yaml
from jsonschema import Draft202012Validator
from pydantic import BaseModel, ConfigDict

from contracts import generate
from contracts.base import Event, PersonalStr
from contracts.catalog import EVENTS_BY_NAME, all_topics
from contracts.compatibility import Breaking, compare_schemas, compatibility_problems
from contracts.schema import Schema, event_schema


class _Address(BaseModel):
    model_config = ConfigDict(frozen=True)
    street: PersonalStr
    city: str


class _BaseV1(Event):
    TOPIC: ClassVar[str] = "ikm.test.thing.v1"
    AGGREGATE_FIELD: ClassVar[str] = "thing_id"
    thing_id: str
    amount_rupiah: int
    note: str | None = None
    kind: Literal["a", "b"] = "a"
    address: _Address
    happened_at: datetime


def schema_of(model: type[Event]) -> Schema:
    return event_schema(model)


def breaking(new_model: type[Event], old_model: type[Event] = _BaseV1) -> list[Breaking]:
    return compare_schemas("Thing", schema_of(old_model), schema_of(new_model))


def rules(problems: list[Breaking]) -> list[tuple[str, str]]:
    return [(p.rule, p.field) for p in problems]


def test_unchanged_schema_is_compatible() -> None:
    assert breaking(_BaseV1) == []


def test_adding_an_optional_field_passes() -> None:
    class Added(_BaseV1):
        channel: str | None = None
        priority: int = 0

    assert breaking(Added) == []


def test_removing_a_field_fails_naming_event_and_field() -> None:
    class Removed(Event):
        TOPIC: ClassVar[str] = "ikm.test.thing.v1"
        AGGREGATE_FIELD: ClassVar[str] = "thing_id"
        thing_id: str
        note: str | None = None
        kind: Literal["a", "b"] = "a"
        address: _Address
        happened_at: datetime

    problems = breaking(Removed)
    assert rules(problems) == [("field_removed", "amount_rupiah")]
    assert "Thing: field 'amount_rupiah': removed or renamed" in str(problems[0])


def test_renaming_a_field_fails_and_suggests_the_new_name() -> None:
    class Renamed(Event):
        TOPIC: ClassVar[str] = "ikm.test.thing.v1"
        AGGREGATE_FIELD: ClassVar[str] = "thing_id"
        thing_id: str
        amount_idr: int
        note: str | None = None
        kind: Literal["a", "b"] = "a"
        address: _Address
        happened_at: datetime

    problems = breaking(Renamed)
    assert ("field_removed", "amount_rupiah") in rules(problems)
    assert "amount_idr" in str(problems[0])
    # the new name is also a new required field, which is breaking on its own
    assert ("required_field_added", "amount_idr") in rules(problems)


def test_changing_a_type_fails() -> None:
    class Retyped(_BaseV1):
        amount_rupiah: str  # type: ignore[assignment]

    problems = breaking(Retyped)
    assert rules(problems) == [("type_changed", "amount_rupiah")]
    assert "from integer to string" in problems[0].detail


def test_changing_a_datetime_to_a_date_is_a_type_change() -> None:
    from datetime import date

    class Redated(_BaseV1):
        happened_at: date  # type: ignore[assignment]

    assert rules(breaking(Redated)) == [("type_changed", "happened_at")]


def test_making_an_optional_field_required_fails() -> None:
    class Required(_BaseV1):
        kind: Literal["a", "b"]

    assert rules(breaking(Required)) == [("optional_became_required", "kind")]


def test_nested_field_changes_are_found_with_their_path() -> None:
    class _Address2(BaseModel):
        street: PersonalStr

    class Nested(_BaseV1):
        address: _Address2  # type: ignore[assignment]

    assert rules(breaking(Nested)) == [("field_removed", "address.city")]


def test_enum_and_nullability_changes_fail() -> None:
    class Widened(_BaseV1):
        kind: Literal["a", "b", "c"] = "a"  # type: ignore[assignment]
        amount_rupiah: int | None  # type: ignore[assignment]

    assert sorted(rules(breaking(Widened))) == [
        ("enum_changed", "kind"),
        ("nullability_changed", "amount_rupiah"),
    ]


def test_reordering_allowed_values_passes() -> None:
    """The same set of values in another order: nothing changes for a consumer."""

    class Reordered(_BaseV1):
        kind: Literal["b", "a"] = "a"  # type: ignore[assignment]

    assert breaking(Reordered) == []


def test_changing_a_default_fails() -> None:
    """An event written before an optional field was added is read with its default: a new
    default changes what the replay and the rebuild make of history."""

    class Redefaulted(_BaseV1):
        kind: Literal["a", "b"] = "b"

    assert rules(breaking(Redefaulted)) == [("default_changed", "kind")]


def test_a_new_version_or_region_field_in_place_fails() -> None:
    """``VERSION`` raised on the published topic renames every new event's ce_type (old
    consumers dead-letter it, the replay finds the log's history of no contract); another
    region field changes what ``ce_region`` says to the regional systems routing by it."""

    class Bumped(_BaseV1):
        VERSION: ClassVar[int] = 2

    assert rules(breaking(Bumped)) == [("routing_changed", "")]
    assert "x-cloudevents-type" in str(breaking(Bumped)[0])

    class Regional(_BaseV1):
        REGION_FIELD: ClassVar[str | None] = "note"

    class Moved(_BaseV1):
        REGION_FIELD: ClassVar[str | None] = "kind"

    assert breaking(Regional) == []  # events gain a ce_region: passes
    assert rules(breaking(Moved, Regional)) == [("routing_changed", "")]
    assert rules(breaking(_BaseV1, Regional)) == [("routing_changed", "")]


def test_a_field_no_longer_marked_personal_data_fails() -> None:
    """Audit reports, trails and logs mask what the schema marks: unmarking a field would
    print it in full."""

    class _PlainAddress(BaseModel):
        model_config = ConfigDict(frozen=True)
        street: str
        city: str

    class Unmarked(_BaseV1):
        address: _PlainAddress  # type: ignore[assignment]

    assert rules(breaking(Unmarked)) == [("personal_data_unmarked", "address.street")]


def test_adding_a_required_field_fails() -> None:
    class NewRequired(_BaseV1):
        channel: str

    assert rules(breaking(NewRequired)) == [("required_field_added", "channel")]


def test_a_removed_event_fails_the_gate() -> None:
    published = {"Thing": schema_of(_BaseV1)}
    problems = compatibility_problems(published, {})
    assert rules(problems) == [("event_removed", "")]


def test_personal_data_fields_are_listed_in_the_schema() -> None:
    assert schema_of(_BaseV1)["x-personal-data-fields"] == ["address.street"]
    registered = json.loads((generate.SCHEMAS_DIR / "EnterpriseRegistered.json").read_text())
    assert {"owner.name", "owner.email", "owner.phone"} <= set(registered["x-personal-data-fields"])


# ---------------------------------------------------------------- the committed files


def test_generated_contract_files_are_fresh() -> None:
    """`make test` fails until `make contracts` was run and its output committed."""
    assert generate.stale_files() == [], "run `make contracts` and commit the result"


def test_committed_schemas_do_not_break_the_published_ones() -> None:
    problems = generate.gate()
    assert problems == [], "\n".join(str(p) for p in problems)


def test_every_published_topic_is_versioned() -> None:
    for path in generate.PUBLISHED_DIR.glob("*.json"):
        topic = json.loads(path.read_text())["x-topic"]
        assert topic.rsplit(".", 1)[-1].startswith("v"), topic


def test_committed_schemas_are_valid_json_schemas_that_accept_real_events() -> None:
    for name in EVENTS_BY_NAME:
        schema = json.loads((generate.SCHEMAS_DIR / f"{name}.json").read_text())
        Draft202012Validator.check_schema(schema)


def test_asyncapi_document_lists_every_topic_and_event() -> None:
    document = yaml.safe_load(generate.ASYNCAPI_FILE.read_text())
    assert document["asyncapi"].startswith("3.")
    addresses = {c["address"] for c in document["channels"].values()}
    assert addresses == set(all_topics())
    messages = document["components"]["messages"]
    assert set(messages) == set(EVENTS_BY_NAME)
    for name, message in messages.items():
        assert message["payload"] == {"$ref": f"#/components/schemas/{name}"}
        assert message["headers"] == {"$ref": "#/components/schemas/CloudEventsHeaders"}
    for operation in document["operations"].values():
        channel_id = operation["channel"]["$ref"].rsplit("/", 1)[-1]
        assert channel_id in document["channels"]


def test_asyncapi_document_fits_faststreams_asyncapi_3_model() -> None:
    from faststream.specification.asyncapi.v3_0_0.schema.schema import ApplicationSchema

    schema = ApplicationSchema.model_validate(generate.asyncapi_document())
    assert schema.components is not None and schema.components.messages is not None
    assert set(schema.components.messages) == set(EVENTS_BY_NAME)


@pytest.mark.parametrize("name", ["EnterpriseRegistered", "PartnerRegistered"])
def test_schema_validates_an_event_the_model_produces(name: str) -> None:
    from contracts.registry import EnterpriseRegistered, OwnerContact, PartnerRegistered

    at = datetime.fromisoformat("2026-01-02T03:04:05+00:00")
    samples: dict[str, Event] = {
        "EnterpriseRegistered": EnterpriseRegistered(
            nib="1234567890123",
            province="34",
            name="CV Maju",
            regency="3471",
            kbli="29300",
            directorate="metal_machinery_electronics_transport",
            size_class="small",
            owner=OwnerContact(name="Budi"),
            registered_at=at,
        ),
        "PartnerRegistered": PartnerRegistered(
            partner_id="p-1",
            name="YDBA",
            partner_type="foundation",
            country="ID",
            registered_at=at,
        ),
    }
    schema = json.loads((generate.SCHEMAS_DIR / f"{name}.json").read_text())
    Draft202012Validator(schema).validate(samples[name].model_dump(mode="json"))
    broken = {**samples[name].model_dump(mode="json"), "registered_at": 5}
    assert list(Draft202012Validator(schema).iter_errors(broken))
