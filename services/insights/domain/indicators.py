"""The indicator catalog: every figure the service reports, with a stable id, its unit,
Indonesian and English titles, its definition and the dimensions it can be broken down by.

A "flow" indicator counts what happened in a month; a "stock" indicator is a current count,
stored as the monthly changes of that count, so its value at a month is the sum of every
change up to it (docs/insights.md). A "ratio" indicator (``ratio`` = numerator and denominator
indicator ids) has no cells of its own: it is computed when read, as a percentage of two flows
over the same period, place and dimension value."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from ikmkit.service.errors import InvalidInput

Kind = Literal["flow", "stock"]


class IndicatorDefinition(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    unit: str
    kind: Kind = "flow"
    title_id: str
    title_en: str
    definition: str
    dimensions: tuple[str, ...] = ()
    ratio: tuple[str, str] | None = None
    """(numerator, denominator): computed when read, numerator / denominator x 100."""
    has_regency: bool = True
    """False when the figures have no regency (budgets are per province)."""


def _i(
    id: str,
    unit: str,
    title_id: str,
    title_en: str,
    definition: str,
    *dimensions: str,
    kind: Kind = "flow",
    ratio: tuple[str, str] | None = None,
    has_regency: bool = True,
) -> IndicatorDefinition:
    return IndicatorDefinition(
        id=id,
        unit=unit,
        kind=kind,
        title_id=title_id,
        title_en=title_en,
        definition=definition,
        dimensions=dimensions,
        ratio=ratio,
        has_regency=has_regency,
    )


CATALOG: tuple[IndicatorDefinition, ...] = (
    _i(
        "enterprises.registered",
        "enterprises",
        "IKM terdaftar",
        "Enterprises registered",
        "Enterprises registered in the month (EnterpriseRegistered, at registered_at), in the "
        "enterprise's province and regency.",
        "size_class",
        "directorate",
        "kbli_division",
    ),
    _i(
        "enterprises.verified",
        "enterprises",
        "IKM terverifikasi",
        "Enterprises verified",
        "Enterprises verified in the month (EnterpriseVerified, at verified_at).",
        "size_class",
    ),
    _i(
        "enterprises.active",
        "enterprises",
        "IKM aktif",
        "Active enterprises",
        "Enterprises whose status is active (verified, or reinstated to active), at the end "
        "of the period; a suspension moves one to enterprises.suspended, a reinstatement back.",
        "size_class",
        kind="stock",
    ),
    _i(
        "enterprises.suspended",
        "enterprises",
        "IKM dibekukan",
        "Suspended enterprises",
        "Enterprises whose status is suspended at the end of the period.",
        "size_class",
        kind="stock",
    ),
    _i(
        "enterprises.class_changes",
        "enterprises",
        "IKM naik kelas",
        "Class upgrades (naik kelas)",
        "Enterprises whose size class changed to a bigger class in the month "
        "(EnterpriseClassChanged small -> medium -> large), by the new class.",
        "new_class",
    ),
    _i(
        "esmart.onboarded",
        "onboardings",
        "Onboarding e-Smart IKM",
        "e-Smart IKM onboardings",
        "Stores opened by enterprises on an e-commerce platform in the month "
        "(EnterpriseOnboardedToMarketplace), by platform.",
        "platform",
    ),
    _i(
        "campaigns.participants",
        "enterprises",
        "Peserta kampanye",
        "Campaign participants",
        "Enterprises that joined a campaign (e.g. #SemuanyaAdaDisini) in the month: a campaign "
        "tag first seen on the enterprise (at registration or update); each enterprise counts "
        "once per campaign, by the tag's key (NFKC, spaces trimmed, case-folded: "
        "#SemuanyaAdaDisini and #semuanyaadadisini are one campaign, shown #semuanyaadadisini).",
        "campaign",
    ),
    _i(
        "partners.registered",
        "partners",
        "Mitra terdaftar",
        "Partners registered",
        "Partner organisations registered in the month, by type (SMK = vocational_school, "
        "company, association, foundation, university, government_unit, foreign_government, "
        "international_body); in the partner's province when it has one.",
        "partner_type",
    ),
    _i(
        "mous.signed",
        "MoUs",
        "MoU ditandatangani",
        "MoUs signed",
        "MoUs signed in the month (MoUSigned, at signed_at), by scope.",
        "scope",
    ),
    _i(
        "mous.active",
        "MoUs",
        "MoU berlaku",
        "MoUs in force",
        "Signed MoUs not yet expired or terminated, at the end of the period, by scope.",
        "scope",
        kind="stock",
    ),
    _i(
        "mous.ended",
        "MoUs",
        "MoU berakhir",
        "MoUs ended",
        "MoUs that expired or were terminated in the month, by how they ended.",
        "ended",
    ),
    _i(
        "linkmatch.smk",
        "vocational schools",
        "SMK link and match",
        "Link-and-match SMK",
        "Distinct vocational schools (partners of type vocational_school) that are a party to "
        "an MoU of scope vocational_link_and_match signed in the fiscal year; each school "
        "counts once per fiscal year, in the month of its first such MoU and its own province.",
    ),
    _i(
        "linkmatch.companies",
        "companies",
        "Industri link and match",
        "Link-and-match companies",
        "Distinct companies (partners of type company) that are a party to an MoU of scope "
        "vocational_link_and_match signed in the fiscal year, counted like linkmatch.smk.",
    ),
    _i(
        "linkmatch.agreements",
        "MoUs",
        "Perjanjian link and match",
        "Link-and-match agreements",
        "MoUs of scope vocational_link_and_match signed in the month.",
    ),
    _i(
        "courses.scheduled",
        "courses",
        "Pelatihan dijadwalkan",
        "Courses scheduled",
        "Courses scheduled, by kind, in the month of their start date, in their province.",
        "kind",
    ),
    _i(
        "webinars.held",
        "webinars",
        "Webinar",
        "Webinars",
        "Courses of kind webinar, in the month of their start date.",
    ),
    _i(
        "participants.enrolled",
        "participants",
        "Peserta pelatihan",
        "Course participants",
        "Participants who took a seat in a course in the month (ParticipantEnrolled, at "
        "enrolled_at) less seats given up (EnrollmentCancelled of a seat), by course kind, "
        "country and course, and one course's participants by country, province and kind "
        "(course_country, course_province, course_participant_kind: 'course id/value'); in "
        "the participant's province when known.",
        "course_kind",
        "country",
        "course",
        "course_country",
        "course_province",
        "course_participant_kind",
    ),
    _i(
        "webinars.participants",
        "participants",
        "Peserta webinar",
        "Webinar participants",
        "participants.enrolled restricted to webinars.",
        "course",
    ),
    _i(
        "diklat3in1.trained",
        "participants",
        "Diklat 3in1: lulus pelatihan",
        "Diklat 3in1: trained",
        "Participants who completed a Diklat 3in1 course in the month (TrainingCompleted).",
    ),
    _i(
        "diklat3in1.certified",
        "participants",
        "Diklat 3in1: tersertifikasi",
        "Diklat 3in1: certified",
        "Diklat 3in1 participants who received their certificate in the month (CertificateIssued).",
    ),
    _i(
        "diklat3in1.placed",
        "participants",
        "Diklat 3in1: ditempatkan",
        "Diklat 3in1: placed",
        "Diklat 3in1 participants placed at a company in the month (PlacementRecorded).",
    ),
    _i(
        "subsidy.applications",
        "applications",
        "Permohonan subsidi",
        "Subsidy applications",
        "Subsidy applications submitted in the month (SubsidyApplied), by program name.",
        "program",
    ),
    _i(
        "subsidy.approvals",
        "applications",
        "Subsidi disetujui",
        "Subsidy approvals",
        "Applications approved in the month (SubsidyApproved), by program name.",
        "program",
    ),
    _i(
        "subsidy.reserved_rupiah",
        "rupiah",
        "Subsidi dicadangkan (Rp)",
        "Subsidy reserved (Rp)",
        "Rupiah reserved by approvals in the month (rebate_rupiah of SubsidyApproved) less "
        "reservations released by cancellations (released_rupiah of SubsidyCancelled), by "
        "program name.",
        "program",
    ),
    _i(
        "subsidy.disbursed_rupiah",
        "rupiah",
        "Subsidi dicairkan (Rp)",
        "Subsidy disbursed (Rp)",
        "Rupiah paid out in the month (rebate_rupiah of SubsidyDisbursed), by program name.",
        "program",
    ),
    _i(
        "subsidy.allocated_rupiah",
        "rupiah",
        "Pagu subsidi (Rp)",
        "Subsidy budget allocated (Rp)",
        "Rupiah allocated to programs' budgets (allocated_rupiah of BudgetAllocated, one per "
        "budget when its program is created), by program name, in the budget's province; the "
        "national reserve has no province (it counts nationally only). Counted in the month of "
        "the allocation, or in January (December) of the program's fiscal year when the program "
        "was created before (after) it.",
        "program",
        has_regency=False,
    ),
    _i(
        "subsidy.budget_use",
        "percent",
        "Penyerapan pagu subsidi (%)",
        "Subsidy budget use (%)",
        "subsidy.reserved_rupiah / subsidy.allocated_rupiah x 100 for the same period, place "
        "and program, computed when read (one decimal; 0 where nothing is allocated). Reserved "
        "rupiah stay counted once disbursed, so this is the share of the allocation committed "
        "(reserved or paid). Per province it compares what the province's enterprises were "
        "approved with the province's own budget, so it passes 100 when approvals drew on the "
        "national reserve; nationally the reserve is in the allocation. By month: the value at "
        "the end of each month, from the start of the period.",
        "program",
        ratio=("subsidy.reserved_rupiah", "subsidy.allocated_rupiah"),
        has_regency=False,
    ),
    _i(
        "mentoring.active",
        "assignments",
        "Pendampingan aktif",
        "Active mentor assignments",
        "Mentor assignments started and not yet ended, at the end of the period.",
        kind="stock",
    ),
    _i(
        "mentoring.ended",
        "assignments",
        "Pendampingan berakhir",
        "Mentor assignments ended",
        "Mentor assignments that ended in the month, by reason (MoU expired or terminated, "
        "ended by an officer).",
        "reason",
    ),
    _i(
        "notifications.delivered",
        "notifications",
        "Notifikasi terkirim",
        "Notifications delivered",
        "Notifications delivered in the month (NotificationDelivered), by channel.",
        "channel",
    ),
    _i(
        "notifications.dead",
        "notifications",
        "Notifikasi gagal",
        "Notifications failed",
        "Notifications whose every attempt failed in the month (NotificationDead), by channel.",
        "channel",
    ),
)

INDICATORS: dict[str, IndicatorDefinition] = {i.id: i for i in CATALOG}


def require_regency_figures(definition: IndicatorDefinition, regency: str | None, by: str) -> None:
    """A regency (a series' filter or ``by``, a target's place) only for an indicator kept per
    regency: one kept per province (budgets) has no regency figure to show or to reach."""
    if not definition.has_regency and (regency is not None or by == "regency"):
        raise InvalidInput(
            f"{definition.id} has no figures per regency", field="regency", rule="no_regency"
        )


def check_dimension(definition: IndicatorDefinition, dimension: str | None) -> None:
    """A ``dimension`` filter names one of the indicator's dimensions (``platform`` or
    ``platform:tokopedia``): another (a typo) would select no cell and answer 0."""
    name = (dimension or "").partition(":")[0]
    if dimension is not None and name not in definition.dimensions:
        known = ", ".join(definition.dimensions) or "none"
        raise InvalidInput(
            f"{definition.id} has no dimension {name!r} (its dimensions: {known})",
            field="dimension",
            rule="dimension_unknown",
        )
