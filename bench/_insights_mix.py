"""The event mix of the insights consumer bench: domain events in the proportions the
platform sees them (enterprises first), built with the contract models."""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

from bench._insights_enterprises import MONTHS, TODAY, Enterprises, at_month
from contracts.base import Event
from contracts.registry import EnterpriseClassChanged, MoUParty, MoUSigned, PartnerRegistered
from contracts.subsidy import SubsidyApplied, SubsidyApproved, SubsidyDisbursed
from contracts.training import CourseScheduled, ParticipantEnrolled

ENTERPRISES_FLOW = 6_000  # enterprises whose events are in the mix


def event_mix(rng: random.Random) -> list[Event]:
    """Domain events in the proportions the platform sees them (enterprises first)."""
    found: list[Event] = []
    e = Enterprises.generate(ENTERPRISES_FLOW, seed=7)
    for i in range(len(e)):
        found += e.events(i)
        if i % 50 == 0:  # naik kelas
            found.append(
                EnterpriseClassChanged(
                    nib=e.nib(i),
                    province=e.regencies[int(e.regency[i])][:2],
                    previous_class="small",
                    new_class="medium",
                    changed_at=TODAY,
                )
            )
    regencies = e.regencies
    kinds = ("vocational_school", "company", "association", "university", "foundation")
    partners = [f"ptn-{i}" for i in range(600)]
    for i, pid in enumerate(partners):
        found.append(
            PartnerRegistered(
                partner_id=pid,
                name=f"Mitra {i}",
                partner_type=kinds[i % 5 if i % 3 else i % 2],  # type: ignore[arg-type]
                country="ID",
                province=rng.choice(regencies)[:2],
                registered_at=at_month(rng.randrange(MONTHS), i),
            )
        )
    for i in range(1_000):
        smk, company = partners[(i * 2) % 600], partners[(i * 2 + 1) % 600]
        signed = at_month(rng.randrange(MONTHS), i)
        found.append(
            MoUSigned(
                mou_id=f"mou-{i}",
                title=f"PKS {i}",
                scope="vocational_link_and_match" if i % 10 < 7 else "training",
                parties=[MoUParty(partner_id=p) for p in ("ministry", smk, company)],
                valid_from=signed.date(),
                valid_until=signed.date() + timedelta(days=730),
                signed_on=signed.date(),
                document_ref=f"doc-{i}",
                signed_at=signed,
                province=rng.choice(regencies)[:2],
            )
        )
    courses = [
        (f"course-{c}", ("webinar", "capacity_building", "diklat_3in1")[c % 3]) for c in range(40)
    ]
    for c, (course, kind) in enumerate(courses):
        start = date(2026, 1 + c % 11, 10)
        found.append(
            CourseScheduled(
                course_id=course,
                title=course,
                kind=kind,  # type: ignore[arg-type]
                organizer_id="ministry",
                start_date=start,
                end_date=start,
                capacity=1000,
                scheduled_by="officer",
                scheduled_at=at_month(40, c),
                province=rng.choice(regencies)[:2],
            )
        )
    for n in range(8_000):
        course, kind = courses[n % len(courses)]
        found.append(
            ParticipantEnrolled(
                course_id=course,
                participant_id=f"p{n}",
                participant_name=f"Peserta {n}",
                participant_kind="ikm_owner",
                province=rng.choice(regencies)[:2],
                country="ID" if n % 20 else rng.choice(("MY", "TH", "VN", "PH")),
                course_title=course,
                course_kind=kind,  # type: ignore[arg-type]
                start_date=date(2026, 5, 1),
                end_date=date(2026, 5, 1),
                enrolled_at=at_month(rng.randrange(40, MONTHS), n),
            )
        )
    for a in range(1_500):
        regency = rng.choice(regencies)
        common: dict[str, Any] = {
            "application_id": f"app-{a}",
            "program_id": f"prog-{a % 4}",
            "program_kind": "machine_restructuring" if a % 4 else "tkdn_certification",
            "program_name": f"Program {a % 4}",
            "fiscal_year": 2026,
            "nib": e.nib(a),
            "enterprise_name": f"IKM {a}",
            "province": regency[:2],
            "regency": regency,
            "directorate": "food_furniture_wood",
        }
        found.append(
            SubsidyApplied(
                **common,
                kbli="10792",
                line_count=2,
                eligible_cost_rupiah=200_000_000,
                requested_rebate_rupiah=50_000_000,
                applied_by="owner",
                applied_at=at_month(38 + a % 8, a),
            )
        )
        if a % 5 < 3:
            found.append(
                SubsidyApproved(
                    **common,
                    eligible_cost_rupiah=200_000_000,
                    rebate_rupiah=50_000_000,
                    budget_id=f"budget-{regency[:2]}",
                    budget_pool="province",
                    approved_by="officer",
                    approved_at=at_month(39 + a % 8, a),
                )
            )
        if a % 5 < 2:
            found.append(
                SubsidyDisbursed(
                    **common,
                    rebate_rupiah=50_000_000,
                    budget_id=f"budget-{regency[:2]}",
                    payment_reference=f"pay-{a}",
                    disbursed_by="officer",
                    disbursed_at=at_month(40 + a % 7, a),
                )
            )
    return found
