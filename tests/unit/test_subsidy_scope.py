"""What a regional officer (or an enterprise) learns of another province's (or another
enterprise's) subsidy applications (session 22 review): nothing. ``/stats`` is their own
province's, as the registry's and training's are, and acting on an application they may not
see answers exactly as a missing one does (404), as reading it does."""

from __future__ import annotations

import pytest

from ikmkit.auth import Caller
from ikmkit.service.errors import Forbidden, NotFound
from ikmkit.unit_of_work import Units
from services.subsidy import handlers, queries
from services.subsidy.commands import CancelApplication, RejectApplication
from services.subsidy.store import SubsidyUnit
from tests.support.subsidy_units import (
    ACEH,
    JOGJA,
    LIMIT,
    MINISTRY,
    OWNER,
    submitted,
    subsidy_units,
)

units = pytest.fixture(subsidy_units, name="units")

STRANGER = Caller(subject="other", role="enterprise", nib="9999999999999")


async def test_a_regional_officer_sees_only_its_provinces_statistics(
    units: Units[SubsidyUnit],
) -> None:
    await submitted(units)  # an application in Yogyakarta (34)
    national = await units.read(queries.stats, MINISTRY, fiscal_year=2026)
    assert (national.province_scope, national.applications) == (None, 1)
    aceh = await units.read(queries.stats, ACEH, fiscal_year=2026)
    assert (aceh.province_scope, aceh.applications, aceh.approved_rupiah) == ("11", 0, 0)
    assert aceh.by_province == aceh.by_program == aceh.by_directorate == []
    jogja = await units.read(queries.stats, JOGJA, fiscal_year=2026)
    assert (jogja.province_scope, [r.key for r in jogja.by_province]) == ("34", ["34"])
    with pytest.raises(Forbidden) as refused:
        await units.read(queries.stats, ACEH, fiscal_year=2026, province="34")
    assert (refused.value.field, refused.value.rule) == ("province", "scope")
    only = await units.read(queries.stats, MINISTRY, fiscal_year=2026, province="11")
    assert (only.province_scope, only.applications) == ("11", 0)


async def test_acting_on_an_application_one_may_not_see_is_a_404_like_a_missing_one(
    units: Units[SubsidyUnit],
) -> None:
    app = await submitted(units)
    with pytest.raises(NotFound) as missing:
        await units.run(handlers.start_review, "app-missing", ACEH)
    reason = RejectApplication(reason="not mine")
    attempts = [
        (handlers.start_review, (app.id, ACEH), {}),
        (handlers.approve, (app.id, ACEH), {"regional_limit_rupiah": LIMIT}),
        (handlers.reject, (app.id, reason, ACEH), {}),
        (handlers.cancel, (app.id, CancelApplication(reason="not mine"), ACEH), {}),
        (handlers.cancel, (app.id, CancelApplication(reason="not mine"), STRANGER), {}),
        (handlers.start_review, (app.id, STRANGER), {}),
    ]
    for handler, args, kwargs in attempts:
        with pytest.raises(NotFound) as hidden:
            await units.run(handler, *args, **kwargs)
        assert hidden.value.message == missing.value.message.replace("app-missing", app.id)
        assert (hidden.value.field, hidden.value.rule) == (missing.value.field, None)
    with pytest.raises(Forbidden) as refused:  # its own: it sees it, but does not review it
        await units.run(handlers.start_review, app.id, OWNER)
    assert refused.value.rule == "reviewer_scope"
    assert (await units.read(queries.get_application, app.id, OWNER)).status == "submitted"
