"""The MoU aggregate: a memorandum of understanding between the ministry and partners,
drafted, signed, and ended by its end date (expired) or early (terminated). Each transition
returns ``Changed(new_state, events)``."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import ConfigDict

from contracts.registry import MoUExpired, MoUParty, MoUScope, MoUSigned, MoUTerminated
from contracts.values import ProvinceText, RegencyText
from ikmkit.clock import jakarta_date
from ikmkit.service.errors import Conflict, InvalidInput, Violations
from ikmkit.store.repository import Versioned
from ikmkit.unit_of_work import Changed
from services.registry.domain import link_rules, rules

MoUStatus = Literal["draft", "signed", "expired", "terminated"]


class MoU(Versioned):
    model_config = ConfigDict(frozen=True)

    mou_id: str
    title: str
    scope: MoUScope
    parties: list[MoUParty]
    valid_from: date
    valid_until: date
    signed_on: date | None = None
    document_ref: str | None = None
    province: ProvinceText | None = None
    """Where the MoU is carried out (optional: a national MoU has none)."""
    regency: RegencyText | None = None
    status: MoUStatus = "draft"
    termination_reason: str | None = None
    terminated_by: str | None = None
    created_by: str
    created_at: datetime
    signed_at: datetime | None = None
    expired_at: datetime | None = None
    terminated_at: datetime | None = None

    @classmethod
    def draft(cls, **fields: Any) -> MoU:
        """A draft on terms the rules accept (no event: a draft binds no one yet)."""
        found = Violations()
        terms = (fields["parties"], fields["valid_from"], fields["valid_until"], fields["title"])
        found.check(link_rules.check_mou_terms, *terms)
        region = found.check(
            link_rules.check_mou_region, fields.get("province"), fields.get("regency")
        )
        found.raise_all()
        assert region is not None
        province, regency = region
        title = fields["title"].strip()
        return cls(**{**fields, "title": title, "province": province, "regency": regency})

    def _where(self) -> dict[str, str | None]:
        return {"province": self.province, "regency": self.regency}

    def party_ids(self, role: str | None = None) -> list[str]:
        """Every party's id (witnesses too), or those of one ``role``."""
        return [p.partner_id for p in self.parties if role is None or p.role == role]

    def sign(self, signed_on: date, document_ref: str, today: date, at: datetime) -> Changed[MoU]:
        """Signed on ``signed_on``, no later than ``today`` (Jakarta's: ``jakarta_date(at)``)."""
        if self.status != "draft":
            raise Conflict(
                f"only a draft MoU can be signed; this one is {self.status}",
                field="status",
                rule="not_draft",
            )
        if self.valid_until < today:
            raise InvalidInput(
                f"the MoU ended on {self.valid_until}; an expired MoU cannot be signed",
                field="valid_until",
                rule="mou_expired",
            )
        link_rules.check_year(signed_on, "signed_on")
        if signed_on > today:
            raise InvalidInput(
                "signed_on cannot be in the future", field="signed_on", rule="future_date"
            )
        if signed_on > self.valid_until:
            raise InvalidInput(
                "signed_on is after the MoU's end date", field="signed_on", rule="after_end"
            )
        ref = rules.check_text(document_ref, "document_ref")
        m = self.model_copy(
            update={
                "status": "signed",
                "signed_on": signed_on,
                "document_ref": ref,
                "signed_at": at,
            }
        )
        signed = MoUSigned(
            mou_id=m.mou_id, title=m.title, scope=m.scope, parties=m.parties,
            valid_from=m.valid_from, valid_until=m.valid_until, signed_on=signed_on,
            document_ref=ref, signed_at=at, **m._where(),
        )  # fmt: skip
        return Changed(m, (signed,))

    def is_due_to_expire(self, today: date) -> bool:
        """A signed MoU expires once its end date has passed (the end date itself is valid);
        ``today`` is Jakarta's (``ikmkit.clock.jakarta_date``), as every MoU date is."""
        return self.status == "signed" and self.valid_until < today

    def expire(self, at: datetime) -> Changed[MoU]:
        if not self.is_due_to_expire(jakarta_date(at)):
            raise Conflict(
                f"MoU {self.mou_id} is not due to expire", field="status", rule="not_due"
            )
        m = self.model_copy(update={"status": "expired", "expired_at": at})
        expired = MoUExpired(
            mou_id=m.mou_id, scope=m.scope, parties=m.parties, valid_until=m.valid_until,
            expired_at=at, **m._where(),
        )  # fmt: skip
        return Changed(m, (expired,))

    def terminate(self, reason: str, by: str, at: datetime) -> Changed[MoU]:
        if self.status != "signed":
            raise Conflict(
                f"only a signed MoU can be terminated; this one is {self.status}",
                field="status",
                rule="not_signed",
            )
        reason = rules.check_text(reason, "reason", max_length=500)
        m = self.model_copy(
            update={
                "status": "terminated",
                "termination_reason": reason,
                "terminated_by": by,
                "terminated_at": at,
            }
        )
        terminated = MoUTerminated(
            mou_id=m.mou_id, scope=m.scope, parties=m.parties, reason=reason,
            terminated_by=by, terminated_at=at, **m._where(),
        )  # fmt: skip
        return Changed(m, (terminated,))
