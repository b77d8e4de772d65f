"""HTTP API of professional claims. Routes translate: request in, use case, response out.

Scopes: reading needs ``billing.claim.read`` (or its equivalent ``claims.read``), changing
needs ``billing.claim.write`` (or ``claims.update``). Every query is the token's tenant's:
another tenant's claim is 404."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Coroutine, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field, model_validator

from claims.adapters.db.claims_repository import ClaimSummaryRow
from claims.domain.claims import (
    Address,
    BillingProviderParty,
    ClaimLine,
    ClaimStatus,
    ClaimTransmission,
    PatientParty,
    PayerParty,
    ProfessionalClaimContent,
    RenderingProviderParty,
    ScrubIssue,
    SubscriberParty,
)
from claims.domain.institutional import (
    InstitutionalClaimContent,
    InstitutionalEdits,
    InstitutionalLine,
    LeaveDates,
)
from claims.domain.projections import Procedure
from claims.service_layer.corrections import replace_claim, reverse_claim
from claims.service_layer.dependencies import ClaimsDependencies
from claims.service_layer.dry_run import (
    DryRun,
    Note,
    Rendering,
    SessionBuildRequest,
    dry_run_member_build,
    render_837,
)
from claims.service_layer.institutional_claims import edit_institutional_context
from claims.service_layer.professional_claims import (
    BuildRequest,
    build_member_claims,
    rebuild_requested,
    submit_claim,
)
from claims.service_layer.queries import (
    ClaimDetail,
    ClaimFilter,
    ClaimView,
    claim_detail,
    claim_transmissions,
    claims_by_id,
    list_claims,
)
from common.http import Principal, Problem, current_principal
from common.runtime import ServiceRuntime
from contracts.codes import Icd10CmCode, Icd10PcsCode

READ_SCOPES = ("billing.claim.read", "claims.read")
WRITE_SCOPES = ("billing.claim.write", "claims.update")


def require_any_scope(*scopes: str) -> Callable[..., Coroutine[Any, Any, Principal]]:
    """Dependency: the caller must hold one of ``scopes`` (equivalent names)."""

    async def dependency(principal: Principal = Depends(current_principal)) -> Principal:
        if not any(principal.has(scope) for scope in scopes):
            raise Problem(
                403,
                "INSUFFICIENT_SCOPE",
                "The token lacks a required scope",
                f"one of: {' '.join(scopes)}",
                required_scopes=list(scopes),
            )
        return principal

    # Read by the route-scope audit (tests/security): the scopes any one of which opens it.
    dependency.required_any_scopes = scopes  # type: ignore[attr-defined]
    return dependency


Reader = Annotated[Principal, Depends(require_any_scope(*READ_SCOPES))]
Writer = Annotated[Principal, Depends(require_any_scope(*WRITE_SCOPES))]
# Seed 001: editing the institutional context is clinical.encounter.write (or a biller's).
ContextWriter = Annotated[
    Principal, Depends(require_any_scope(*WRITE_SCOPES, "clinical.encounter.write"))
]


# --------------------------------------------------------------------------- bodies


class LineOut(BaseModel):
    line_number: int
    line_control_number: str = Field(description="REF*6R")
    service: str = Field(description="SV101 as printed, e.g. HC:90853:HQ")
    procedure_code: str | None
    modifiers: list[str]
    units: Decimal
    unit_basis: str
    amount: Decimal
    date_of_service: date
    place_of_service: str | None = Field(description="only when it differs from the claim's")
    diagnosis_pointers: list[int]
    rendering_provider: RenderingProviderParty | None = Field(
        description="only when the rendering provider is not the billing provider"
    )
    charge_id: str
    charge_version: int
    session_id: str | None


class TransmissionOut(BaseModel):
    claim_version: int
    clearinghouse_id: str
    interchange_control_number: str = Field(description="ISA13")
    group_control_number: str = Field(description="GS06")
    transaction_set_control_number: str = Field(description="ST02")
    file_name: str
    file_sha256: str
    transmitted_at: datetime


class InstitutionalLineOut(BaseModel):
    """An 837I SV2 line."""

    line_number: int
    line_control_number: str = Field(description="REF*6R")
    kind: str = Field(description="ACCOMMODATION, LEAVE_OF_ABSENCE (roll-ups), ANCILLARY, OTHER")
    revenue_code: str = Field(description="SV201")
    procedure_code: str | None
    modifiers: list[str]
    amount: Decimal
    unit_basis: str = Field(description="SV204: DA (days) or UN")
    units: Decimal
    service_from: date
    service_to: date
    charge_ids: list[str]


class ClaimOut(BaseModel):
    claim_id: str
    claim_version: int
    patient_control_number: str = Field(description="CLM01: at most 20, unique per tenant")
    transaction_type: str
    status: ClaimStatus
    member_id: str
    payer_id: str
    billing_provider_npi: str
    period_from: date = Field(description="the statement period (837I) or claim period")
    period_to: date
    total_charge: Decimal
    line_count: int
    stale_reason: str | None
    reversal_needed: bool = Field(
        description="STALE after it was submitted: it needs a reverse and rebuild (#5)"
    )
    stay_id: str | None = Field(description="the stay a cycle claim (837I) bills")
    frequency_code: str | None = Field(
        description="CLM05-3 as last sent: a cycle claim's 1, 2, 3 or 4; 7 after a "
        "replacement, 8 after a void"
    )
    superseded_by: str | None = Field(
        description="after a reverse (or a rejection): the fresh claim its rebuild made"
    )
    charge_ids: list[str]
    session_ids: list[str]
    lines: list[LineOut] = Field(description="837P lines")
    institutional_lines: list[InstitutionalLineOut] = Field(description="837I SV2 lines")
    transmissions: list[TransmissionOut]
    created_at: datetime
    updated_at: datetime


class ClaimList(BaseModel):
    items: list[ClaimOut]


class IssueOut(BaseModel):
    code: str
    severity: str = Field(description="error blocks READY; warning does not")
    message: str
    line_number: int | None
    charge_id: str | None


class VersionOut(BaseModel):
    version: int
    scrubbed_status: str
    reason: str = Field(description="why it was built, e.g. BUILT, CHARGE_CHANGED, VOID")
    total_charge: Decimal
    built_at: datetime
    frequency_code: str | None = Field(
        description="7 (replacement) or 8 (void) on a correction; null on an original"
    )
    original_reference: str | None = Field(
        description="REF*F8 of a correction: the payer's claim control number, else CLM01"
    )
    payer_claim_control_number: str | None = Field(
        description="REF*1K a 277CA gave this version (the payer's word first)"
    )


class AcknowledgmentOut(BaseModel):
    """One acknowledgment received about a claim version, as received."""

    claim_version: int
    outcome: str = Field(description="ACCEPTED or REJECTED")
    stage: str = Field(description="PRE_SEND_VALIDATION, TA1, 999 or 277CA")
    party: str | None = Field(description="CLEARINGHOUSE, PAYER or OTHER")
    codes: list[str] = Field(description="e.g. 277CA STC01 A2:20:PR")
    message: str | None
    payer_claim_control_number: str | None = Field(description="277CA REF*1K")
    clearinghouse_trace_number: str | None = Field(description="277CA REF*D9")
    status_date: date | None = Field(description="277CA STC02")
    acknowledgment_file_id: str | None
    lines: list[dict[str, Any]] = Field(description="line-level statuses (REF*FJ)")
    effect: str = Field(
        description="what it did: APPLIED, UNCHANGED, REJECTION_STANDS, OLDER_VERSION, "
        "CLAIM_STALE, VOID_ACKNOWLEDGED, UNKNOWN_VERSION, NOT_SUBMITTED"
    )
    event_id: str
    acknowledged_at: datetime
    received_at: datetime


class OverrideOut(BaseModel):
    """An operator's override, from the append-only audit log: who, when, what, why."""

    action: str = Field(description="REVERSE or REPLACE")
    actor: str = Field(description="the token's subject")
    reason: str
    from_status: str
    to_status: str
    from_version: int
    to_version: int
    details: dict[str, Any]
    recorded_at: datetime


class CorrectionIn(BaseModel):
    """Why (required; kept in the audit log)."""

    model_config = ConfigDict(extra="forbid")

    reason: str | None = Field(
        default=None,
        max_length=1000,
        description="required: why the claim is corrected (422 REASON_REQUIRED without)",
    )


class StatusChangeOut(BaseModel):
    claim_version: int
    from_status: str | None
    to_status: str
    reason_codes: list[str]
    reason: str | None
    stage: str | None
    actor: str | None
    changed_at: datetime


class ClaimDetailOut(ClaimOut):
    billing_provider: BillingProviderParty | None
    pay_to_address: Address | None
    payer: PayerParty | None
    clearinghouse_id: str | None
    subscriber: SubscriberParty | None
    patient: PatientParty | None = Field(description="only when the patient is not the subscriber")
    diagnoses: list[str] = Field(description="ICD-10-CM, principal first (HI)")
    place_of_service: str | None
    issues: list[IssueOut]
    versions: list[VersionOut]
    status_history: list[StatusChangeOut]
    acknowledgments: list[AcknowledgmentOut] = Field(
        description="every acknowledgment received (TA1, 999, 277CA), oldest first"
    )
    payer_claim_control_number: str | None = Field(
        description="REF*1K of the newest version a 277CA numbered"
    )
    overrides: list[OverrideOut] = Field(description="reverses and replacements, oldest first")
    held_for_rebuild: bool = Field(
        default=False,
        description="after a reverse: its charges (837I: its days) are held, and no automatic "
        "build bills them again until they change (837I: until the stay changes) or "
        "POST /v1/claims/{claim_id}/rebuild builds the fresh original from them",
    )
    held_charge_ids: list[str] = Field(
        default_factory=list, description="the charges held for the rebuild of this claim"
    )
    institutional: InstitutionalOut | None = Field(
        default=None, description="837I: the institutional context the claim reports"
    )
    per_diem: PerDiemOut | None = Field(
        default=None, description="837I: the per-diem day calculation of the statement period"
    )


class BuildClaims(BaseModel):
    member_id: str = Field(min_length=1, max_length=64)
    period_from: date | None = Field(default=None, description="first date of service to build")
    period_to: date | None = Field(default=None, description="last date of service to build")


class BuiltClaims(BaseModel):
    claims: list[ClaimOut]


class BuildPreviewIn(BaseModel):
    """What ``POST /v1/claims/build`` takes (a member, optionally a period), or a group
    session instead: the claims of every member its charges bill."""

    model_config = ConfigDict(extra="forbid")

    member_id: str | None = Field(default=None, min_length=1, max_length=64)
    session_id: str | None = Field(
        default=None, min_length=1, max_length=64, description="instead of member_id"
    )
    period_from: date | None = Field(default=None, description="with member_id only")
    period_to: date | None = Field(default=None, description="with member_id only")

    @model_validator(mode="after")
    def _one_subject(self) -> BuildPreviewIn:
        if (self.member_id is None) == (self.session_id is None):
            raise ValueError("give member_id or session_id, not both")
        if self.session_id is not None and (self.period_from or self.period_to):
            raise ValueError("a session's dry run takes no period")
        return self


class NoteOut(BaseModel):
    code: str = Field(
        description="SCRUB_ERRORS, UNKNOWN_PAYER, CLAIM_CONTENT_INVALID (a claim); "
        "NOTHING_TO_RENDER, EDI_GATEWAY_NOT_CONFIGURED, EDI_GATEWAY_UNREACHABLE, "
        "EDI_GATEWAY_REFUSED (the 837)"
    )
    detail: str


class DryRunClaimOut(BaseModel):
    claim_id: str = Field(description="a claim the dry run would open is not stored: its id is")
    claim_version: int
    patient_control_number: str = Field(description="CLM01, the one the real build would give")
    transaction_type: str
    member_id: str
    payer_id: str
    status: ClaimStatus = Field(
        description="as the build would leave it (SUBMITTED where the tenant auto-submits)"
    )
    status_before: ClaimStatus | None = Field(description="null: the build would open it")
    sent_before: bool = Field(
        description="it had left our hands before: reported as last sent, a build would "
        "not send it again"
    )
    would_send: bool = Field(description="the build would send it now (to the gateway)")
    issues: list[IssueOut] = Field(description="scrub issues (error blocks; warning does not)")
    document: dict[str, Any] | None = Field(
        description="the claims.claim.submitted.v1 data the gateway renders; null when the "
        "claim would not be sent (see note)"
    )
    note: NoteOut | None


class Edi837IssueOut(BaseModel):
    code: str = Field(default="", description="loop/element:pyx12 code, e.g. 2010BA/NM104:5")
    description: str = ""
    level: str = ""
    segment_number: int | None = None
    segment_id: str | None = None
    element: str | None = None
    claim_id: str | None = Field(default=None, description="null: envelope or header")


class Edi837FileOut(BaseModel):
    clearinghouse_id: str = ""
    transaction_type: str = ""
    usage_indicator: str = ""
    claim_ids: list[str] = Field(default_factory=list)
    interchange_control_number: str = Field(
        default="", description="ISA13/GS06 of the preview: 999999999, no number was taken"
    )
    text: str = Field(default="", description="the 837 as the gateway would render it")
    valid: bool = Field(default=False, description="pyx12 found no error")
    errors: list[Edi837IssueOut] = Field(default_factory=list, description="pyx12's errors")


class Edi837RefusalOut(BaseModel):
    claim_id: str = ""
    code: str = ""
    message: str = ""


class Edi837Out(BaseModel):
    valid: bool | None = Field(
        description="every file pyx12-clean and no claim refused; null without a rendering"
    )
    files: list[Edi837FileOut] = Field(description="one per clearinghouse and transaction type")
    refused: list[Edi837RefusalOut] = Field(description="claims the gateway would not render")
    note: NoteOut | None = Field(description="why there is no 837 (the claims stand)")


class DryRunOut(BaseModel):
    dry_run: Literal[True] = True
    claims: list[DryRunClaimOut]
    edi: Edi837Out


def _note(note: Note | None) -> NoteOut | None:
    return None if note is None else NoteOut(code=note.code, detail=note.detail)


def dry_run_claims(dry_run: DryRun) -> list[DryRunClaimOut]:
    return [
        DryRunClaimOut(
            claim_id=p.claim_id,
            claim_version=p.claim_version,
            patient_control_number=p.patient_control_number,
            transaction_type=p.transaction_type,
            member_id=p.member_id,
            payer_id=p.payer_id,
            status=p.status,
            status_before=p.status_before,
            sent_before=p.sent_before,
            would_send=p.document is not None and not p.sent_before,
            issues=[_issue(i) for i in p.issues],
            document=p.document,
            note=_note(p.note),
        )
        for p in dry_run.claims
    ]


def edi_837(rendering: Rendering) -> Edi837Out:
    files = [Edi837FileOut.model_validate(f) for f in rendering.files]
    refused = [Edi837RefusalOut.model_validate(r) for r in rendering.refused]
    rendered = bool(files or refused)
    return Edi837Out(
        valid=(all(f.valid for f in files) and not refused) if rendered else None,
        files=files,
        refused=refused,
        note=_note(rendering.note),
    )


class ClaimEdiOut(BaseModel):
    claim_id: str
    claim_version: int
    patient_control_number: str
    status: ClaimStatus
    transmission: TransmissionOut = Field(description="the newest")
    transmissions: list[TransmissionOut]
    gateway_url: str = Field(
        description="the EDI gateway's record of the claim's transmissions: each with the id "
        "of its archived file, served byte for byte at the gateway's /v1/files/{file_id}"
    )


# --------------------------------------------------------------------------- 837I bodies


class CycleOut(BaseModel):
    first_day: date = Field(description="the cycle's first stay day")
    last_day: date = Field(description="the cycle's last stay day")
    billing_period: str | None = Field(description="null for an operator's explicit cycle")
    final: bool = Field(description="holds the discharge")


class AdmissionOut(BaseModel):
    date: dt.date | None = Field(description="DTP*435: the original admission, on every cycle")
    hour: int | None
    date_source: str | None = Field(description="STAY, EDIT or ENROLLMENT (auto-resolved)")
    type: str | None = Field(description="CL101")
    source: str | None = Field(description="CL102")


class ProcedureOut(BaseModel):
    code: str = Field(description="ICD-10-PCS (HI*BBR first, then HI*BBQ)")
    performed_on: date


class LeaveOut(BaseModel):
    leave_id: str | None
    start_date: date | None = Field(description="first day away at midnight")
    return_date: date | None = Field(description="day back (a covered day)")


class SpanOut(BaseModel):
    code: str
    start: date
    end: date


class OccurrenceOut(BaseModel):
    code: str
    date: dt.date


class ValueCodeOut(BaseModel):
    code: str
    amount: Decimal


class FacilityOut(BaseModel):
    facility_id: str
    name: str
    npi: str
    tax_id: str
    taxonomy_code: str
    address: Address


class InstitutionalOut(BaseModel):
    """Seed 001's Institutional tab: what the claim's 837I reports."""

    stay_id: str
    program_id: str
    type_of_bill: str | None = Field(description="CLM05-1: facility type + classification")
    frequency_code: str = Field(description="CLM05-3: 1-4 by the cycle; 7 or 8 on a correction")
    clm05: str | None = Field(description="as printed, e.g. 86:A:2")
    cycle: CycleOut
    statement_from: date = Field(description="DTP*434")
    statement_through: date
    admission: AdmissionOut
    patient_status: str = Field(description="CL103: 30 on interim claims")
    discharge_date: date | None
    discharge_hour: int | None = Field(description="DTP*096, only on final claims")
    principal_diagnosis: str | None = Field(description="HI*ABK")
    admitting_diagnosis: str | None = Field(description="HI*ABJ")
    other_diagnoses: list[str] = Field(description="HI*ABF, up to 24")
    drg: str | None = Field(description="HI*DR")
    procedures: list[ProcedureOut]
    leaves: list[LeaveOut] = Field(description="the leaves the claim reports (stay or edit)")
    occurrence_spans: list[SpanOut] = Field(description="HI*BI: 74 per leave (RD8)")
    occurrences: list[OccurrenceOut] = Field(description="HI*BH: 42 discharge, 55 death")
    value_codes: list[ValueCodeOut] = Field(description="HI*BE: 80 covered, 81 non-covered")
    service_facility: FacilityOut | None
    edited_fields: list[str] = Field(description="fields an operator's edit sets")


class DayOut(BaseModel):
    date: dt.date
    expected: str = Field(description="per the stay: COVERED, LEAVE_OF_ABSENCE, NOT_BILLED")
    billed_as: str | None = Field(description="per the day charges (null: none)")
    charge_ids: list[str]
    revenue_code: str | None
    amount: Decimal


class PerDiemOut(BaseModel):
    """Seed 001's per-diem panel: the day calculation of the statement period."""

    days_in_period: int = Field(description="through - from (+1 when still a patient), >= 1")
    covered_days: int = Field(description="value code 80")
    non_covered_days: int = Field(description="value code 81 (every LOA day)")
    billed_covered_days: int
    billed_non_covered_days: int
    expected_leave_days: int = Field(description="LOA nights in the period per the stay")
    days: list[DayOut]


class LeaveIn(BaseModel):
    leave_id: str | None = Field(default=None, max_length=64)
    start_date: date | None = None
    return_date: date | None = None


class ProcedureIn(BaseModel):
    code: Icd10PcsCode
    performed_on: date


class InstitutionalEditIn(BaseModel):
    """The fields to correct; a field left out keeps what the stay says, a null clears it."""

    model_config = ConfigDict(extra="forbid")

    admission_date: date | None = None
    admission_hour: int | None = Field(default=None, ge=0, le=23)
    admission_type: str | None = Field(default=None, pattern=r"^[1-59]$")
    admission_source: str | None = Field(default=None, pattern=r"^[1-9A-Z]$")
    principal_diagnosis: Icd10CmCode | None = None
    admitting_diagnosis: Icd10CmCode | None = None
    other_diagnoses: list[Icd10CmCode] | None = Field(default=None, max_length=24)
    drg: str | None = Field(default=None, pattern=r"^[0-9]{3}$")
    procedures: list[ProcedureIn] | None = Field(default=None, max_length=25)
    leaves: list[LeaveIn] | None = Field(default=None, max_length=50)
    covered_days: int | None = Field(default=None, ge=0)
    non_covered_days: int | None = Field(default=None, ge=0)

    def to_edits(self) -> InstitutionalEdits:
        return InstitutionalEdits(
            admission_date=self.admission_date,
            admission_hour=self.admission_hour,
            admission_type=self.admission_type,
            admission_source=self.admission_source,
            principal_diagnosis=self.principal_diagnosis,
            admitting_diagnosis=self.admitting_diagnosis,
            other_diagnoses=tuple(self.other_diagnoses or ()),
            drg=self.drg,
            procedures=tuple(Procedure(p.code, p.performed_on) for p in self.procedures or ()),
            leaves=tuple(
                LeaveDates(v.start_date, v.return_date, v.leave_id) for v in self.leaves or ()
            ),
            covered_days=self.covered_days,
            non_covered_days=self.non_covered_days,
            edited=frozenset(self.model_fields_set),
        )


# --------------------------------------------------------------------------- mapping


def _service(line: ClaimLine) -> str:
    return ":".join(["HC", line.procedure_code or "", *line.modifiers])


def _line(line: ClaimLine) -> LineOut:
    return LineOut(
        line_number=line.line_number,
        line_control_number=line.line_control_number,
        service=_service(line),
        procedure_code=line.procedure_code,
        modifiers=list(line.modifiers),
        units=line.units,
        unit_basis=line.unit_basis,
        amount=line.amount,
        date_of_service=line.date_of_service,
        place_of_service=line.place_of_service,
        diagnosis_pointers=list(line.diagnosis_pointers),
        rendering_provider=line.rendering_provider,
        charge_id=line.charge_id,
        charge_version=line.charge_version,
        session_id=line.session_id,
    )


def _transmission(t: ClaimTransmission) -> TransmissionOut:
    return TransmissionOut(
        claim_version=t.claim_version,
        clearinghouse_id=t.clearinghouse_id,
        interchange_control_number=t.interchange_control_number,
        group_control_number=t.group_control_number,
        transaction_set_control_number=t.transaction_set_control_number,
        file_name=t.file_name,
        file_sha256=t.file_sha256,
        transmitted_at=t.transmitted_at,
    )


def _institutional_line(line: InstitutionalLine) -> InstitutionalLineOut:
    return InstitutionalLineOut(
        line_number=line.line_number,
        line_control_number=line.line_control_number,
        kind=line.kind.value,
        revenue_code=line.revenue_code,
        procedure_code=line.procedure_code,
        modifiers=list(line.modifiers),
        amount=line.amount,
        unit_basis=line.unit_basis,
        units=line.units,
        service_from=line.service_from,
        service_to=line.service_to,
        charge_ids=list(line.charge_ids),
    )


def _summary_fields(
    s: ClaimSummaryRow,
    lines: list[ClaimLine],
    transmissions: list[ClaimTransmission],
    institutional_lines: Sequence[InstitutionalLine] = (),
) -> dict[str, Any]:
    return {
        "claim_id": s.claim_id,
        "claim_version": s.version,
        "patient_control_number": s.patient_control_number,
        "transaction_type": s.transaction_type,
        "status": ClaimStatus(s.status),
        "member_id": s.member_id,
        "payer_id": s.payer_id,
        "billing_provider_npi": s.billing_provider_npi,
        "period_from": s.period_from,
        "period_to": s.period_to,
        "total_charge": s.total_charge,
        "line_count": s.line_count,
        "stale_reason": s.stale_reason,
        "reversal_needed": s.reversal_needed,
        "stay_id": s.stay_id,
        "frequency_code": s.frequency_code,
        "superseded_by": s.superseded_by,
        "charge_ids": [line.charge_id for line in lines]
        + [c for line in institutional_lines for c in line.charge_ids],
        "session_ids": sorted({line.session_id for line in lines if line.session_id}),
        "lines": [_line(line) for line in lines],
        "institutional_lines": [_institutional_line(line) for line in institutional_lines],
        "transmissions": [_transmission(t) for t in transmissions],
        "created_at": s.created_at,
        "updated_at": s.updated_at,
    }


def _claim(view: ClaimView) -> ClaimOut:
    return ClaimOut(
        **_summary_fields(view.summary, view.lines, view.transmissions, view.institutional_lines)
    )


def _issue(issue: ScrubIssue) -> IssueOut:
    return IssueOut(
        code=issue.code,
        severity=issue.severity.value,
        message=issue.message,
        line_number=issue.line_number,
        charge_id=issue.charge_id,
    )


def _institutional(
    content: InstitutionalClaimContent, sent_frequency: str | None = None
) -> tuple[InstitutionalOut, PerDiemOut]:
    """``sent_frequency``: 7 or 8 when the version is a replacement or a void."""
    facility = content.service_facility
    tob = content.type_of_bill
    frequency = sent_frequency or content.frequency_code.value
    institutional = InstitutionalOut(
        stay_id=content.stay_id,
        program_id=content.program_id,
        type_of_bill=tob,
        frequency_code=frequency,
        clm05=None if tob is None else f"{tob}:A:{frequency}",
        cycle=CycleOut(
            first_day=content.cycle_first_day,
            last_day=content.cycle_last_day,
            billing_period=content.billing_period,
            final=content.final,
        ),
        statement_from=content.statement_from,
        statement_through=content.statement_through,
        admission=AdmissionOut(
            date=content.admission_date,
            hour=content.admission_hour,
            date_source=None
            if content.admission_date_source is None
            else content.admission_date_source.value,
            type=content.admission_type,
            source=content.admission_source,
        ),
        patient_status=content.patient_status,
        discharge_date=content.discharge_date,
        discharge_hour=content.discharge_hour,
        principal_diagnosis=content.principal_diagnosis,
        admitting_diagnosis=content.admitting_diagnosis,
        other_diagnoses=list(content.other_diagnoses),
        drg=content.drg,
        procedures=[
            ProcedureOut(code=p.code, performed_on=p.performed_on) for p in content.procedures
        ],
        leaves=[
            LeaveOut(leave_id=v.leave_id, start_date=v.start_date, return_date=v.return_date)
            for v in content.leaves
        ],
        occurrence_spans=[
            SpanOut(code=x.code, start=x.start, end=x.end) for x in content.occurrence_spans
        ],
        occurrences=[OccurrenceOut(code=o.code, date=o.on) for o in content.occurrences],
        value_codes=[ValueCodeOut(code=v.code, amount=v.amount) for v in content.value_codes],
        service_facility=None
        if facility is None
        else FacilityOut(
            facility_id=facility.facility_id,
            name=facility.name,
            npi=facility.npi,
            tax_id=facility.tax_id,
            taxonomy_code=facility.taxonomy_code,
            address=facility.address,
        ),
        edited_fields=list(content.edited),
    )
    days = content.days
    per_diem = PerDiemOut(
        days_in_period=days.days_in_period,
        covered_days=days.covered_days,
        non_covered_days=days.non_covered_days,
        billed_covered_days=days.billed_covered_days,
        billed_non_covered_days=days.billed_non_covered_days,
        expected_leave_days=days.expected_leave_days,
        days=[
            DayOut(
                date=d.day,
                expected=d.expected.value,
                billed_as=None if d.billed_as is None else d.billed_as.value,
                charge_ids=list(d.charge_ids),
                revenue_code=d.revenue_code,
                amount=d.amount,
            )
            for d in days.days
        ],
    )
    return institutional, per_diem


def _payer_numbers(detail: ClaimDetail) -> dict[int, str]:
    """version -> the payer claim control number (REF*1K) a 277CA gave it, a payer's
    before a clearinghouse's, the first received of each."""
    numbered: dict[int, tuple[bool, str]] = {}
    for ack in detail.acknowledgments:
        number = ack.payer_claim_control_number
        if number is None:
            continue
        kept = numbered.get(ack.claim_version)
        by_payer = ack.party == "PAYER"
        if kept is None or (by_payer and not kept[0]):
            numbered[ack.claim_version] = (by_payer, number)
    return {version: number for version, (_, number) in numbered.items()}


def detail_out(detail: ClaimDetail) -> ClaimDetailOut:
    """One claim's whole record, 837P or 837I."""
    content = detail.content
    cycle = detail.institutional
    lines = list(content.lines) if content else []
    parties: ProfessionalClaimContent | InstitutionalClaimContent | None = content or cycle
    current = next((v for v in detail.versions if v.version == detail.summary.version), None)
    sent_frequency = current.frequency_code if current else None
    institutional, per_diem = _institutional(cycle, sent_frequency) if cycle else (None, None)
    numbered = _payer_numbers(detail)
    return ClaimDetailOut(
        **_summary_fields(
            detail.summary, lines, detail.transmissions, list(cycle.lines) if cycle else []
        ),
        billing_provider=parties.billing_provider if parties else None,
        pay_to_address=parties.pay_to_address if parties else None,
        payer=parties.payer if parties else None,
        clearinghouse_id=parties.clearinghouse_id if parties else None,
        subscriber=parties.subscriber if parties else None,
        patient=parties.patient if parties else None,
        diagnoses=list(parties.diagnoses) if parties else [],
        place_of_service=content.place_of_service if content else None,
        issues=[_issue(i) for i in detail.issues],
        versions=[
            VersionOut(
                version=v.version,
                scrubbed_status=v.scrubbed_status,
                reason=v.reason,
                total_charge=v.total_charge,
                built_at=v.built_at,
                frequency_code=v.frequency_code,
                original_reference=v.original_reference,
                payer_claim_control_number=numbered.get(v.version),
            )
            for v in detail.versions
        ],
        acknowledgments=[
            AcknowledgmentOut(**dataclasses.asdict(a)) for a in detail.acknowledgments
        ],
        payer_claim_control_number=numbered[max(numbered)] if numbered else None,
        overrides=[OverrideOut(**dataclasses.asdict(o)) for o in detail.overrides],
        held_for_rebuild=bool(detail.held_charge_ids) and detail.summary.superseded_by is None,
        held_charge_ids=detail.held_charge_ids,
        status_history=[
            StatusChangeOut(
                claim_version=c.version,
                from_status=c.from_status,
                to_status=c.to_status,
                reason_codes=c.reason_codes,
                reason=c.reason,
                stage=c.stage,
                actor=c.actor,
                changed_at=c.changed_at,
            )
            for c in detail.status_changes
        ],
        institutional=institutional,
        per_diem=per_diem,
    )


def _problems(codes: dict[int, str]) -> dict[int | str, dict[str, Any]]:
    """OpenAPI: the refusals of a route, as problem details with stable codes."""
    return {
        status: {
            "description": f"problem details; code: {text}",
            "content": {"application/problem+json": {}},
        }
        for status, text in codes.items()
    }


def _runtime(request: Request) -> ServiceRuntime:
    runtime: ServiceRuntime = request.app.state.runtime
    return runtime


# --------------------------------------------------------------------------- routes


def build_claims_router(deps: ClaimsDependencies) -> APIRouter:
    router = APIRouter(prefix="/v1/claims", tags=["claims"])

    @router.get("", response_model=ClaimList, summary="List the tenant's claims, newest first")
    async def get_claims(
        request: Request,
        principal: Reader,
        member_id: str | None = None,
        status: ClaimStatus | None = None,
        on: Annotated[
            date | None,
            Query(alias="date", description="claims whose period holds this date of service"),
        ] = None,
        session_id: Annotated[
            str | None, Query(description="claims whose current version bills this session")
        ] = None,
        stay_id: Annotated[str | None, Query(description="cycle claims of this stay")] = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 100,
        offset: Annotated[int, Query(ge=0)] = 0,
    ) -> ClaimList:
        wanted = ClaimFilter(
            member_id=member_id,
            status=None if status is None else status.value,
            on=on,
            session_id=session_id,
            stay_id=stay_id,
            limit=limit,
            offset=offset,
        )
        async with _runtime(request).sessionmaker() as session:
            views = await list_claims(session, principal.tenant_id, wanted)
        return ClaimList(items=[_claim(v) for v in views])

    @router.post(
        "/build",
        response_model=BuiltClaims,
        summary="Build a member's claims now from READY charges (optionally for a period)",
    )
    async def post_build(body: BuildClaims, request: Request, principal: Writer) -> BuiltClaims:
        runtime = _runtime(request)
        command = BuildRequest(body.member_id, body.period_from, body.period_to)
        async with runtime.unit_of_work() as uow:
            claim_ids = await build_member_claims(uow, deps, principal.tenant_id, command)
            await uow.commit()
        runtime.relay.wake()
        async with runtime.sessionmaker() as session:
            views = await claims_by_id(session, principal.tenant_id, claim_ids)
        return BuiltClaims(claims=[_claim(v) for v in views])

    @router.post(
        "/build/preview",
        response_model=DryRunOut,
        summary="Dry run of the build: the member's (or a session's) claims as the build "
        "would make and send them, with their scrub issues, and the exact 837 the EDI gateway "
        "would render with pyx12's verdict; nothing is stored, numbered, published or sent",
        responses=_problems(
            {
                404: "MEMBER_NOT_FOUND, SESSION_NOT_BILLED (no charge of it here)",
                422: "PERIOD_OUT_OF_ORDER, VALIDATION_ERROR (member_id or session_id)",
            }
        ),
    )
    async def post_build_preview(
        body: BuildPreviewIn, request: Request, principal: Writer
    ) -> DryRunOut:
        command: BuildRequest | SessionBuildRequest
        if body.session_id is not None:
            command = SessionBuildRequest(body.session_id)
        else:
            assert body.member_id is not None
            command = BuildRequest(body.member_id, body.period_from, body.period_to)
        async with _runtime(request).unit_of_work() as uow:
            dry_run = await dry_run_member_build(uow, deps, principal.tenant_id, command)
        rendering = await render_837(deps, dry_run, request.headers.get("authorization"))
        return DryRunOut(claims=dry_run_claims(dry_run), edi=edi_837(rendering))

    @router.get(
        "/{claim_id}",
        response_model=ClaimDetailOut,
        summary="A claim: parties, lines, scrub issues, versions, status history, transmissions "
        "(837I: with its institutional context and per-diem day calculation)",
    )
    async def get_claim(claim_id: str, request: Request, principal: Reader) -> ClaimDetailOut:
        async with _runtime(request).sessionmaker() as session:
            detail = await claim_detail(session, principal.tenant_id, claim_id)
        return detail_out(detail)

    @router.put(
        "/{claim_id}/institutional",
        response_model=ClaimDetailOut,
        summary="Correct a cycle claim's institutional context (validated: 422 with the codes); "
        "kept on the claim, which is rebuilt with it",
    )
    async def put_institutional(
        claim_id: str, body: InstitutionalEditIn, request: Request, principal: ContextWriter
    ) -> ClaimDetailOut:
        runtime = _runtime(request)
        async with runtime.unit_of_work() as uow:
            await edit_institutional_context(
                uow, deps, principal.tenant_id, claim_id, body.to_edits()
            )
            await uow.commit()
        runtime.relay.wake()
        async with runtime.sessionmaker() as session:
            detail = await claim_detail(session, principal.tenant_id, claim_id)
        return detail_out(detail)

    @router.post(
        "/{claim_id}/rebuild",
        response_model=ClaimDetailOut,
        summary="Build a claim not yet submitted again now (a new version when anything changed); "
        "after a reverse (or a rejection), build a fresh original from its charges or stay as "
        "they are now and answer with that claim",
        responses=_problems(
            {
                404: "CLAIM_NOT_FOUND",
                409: "CLAIM_SUBMITTED (left our hands: reverse or replace), "
                "CLAIM_ALREADY_REBUILT, NOTHING_TO_REBUILD, CYCLE_NOT_READY (names the days), "
                "CYCLE_NOT_CLOSED",
            }
        ),
    )
    async def post_rebuild(claim_id: str, request: Request, principal: Writer) -> ClaimDetailOut:
        runtime = _runtime(request)
        async with runtime.unit_of_work() as uow:
            shown = await rebuild_requested(uow, deps, principal.tenant_id, claim_id)
            await uow.commit()
        runtime.relay.wake()
        async with runtime.sessionmaker() as session:
            detail = await claim_detail(session, principal.tenant_id, shown[0])
        return detail_out(detail)

    @router.post(
        "/{claim_id}/reverse",
        response_model=ClaimDetailOut,
        summary="Void a claim that left our hands (SUBMITTED, ACCEPTED, or STALE waiting for a "
        "reversal): its next version repeats the last one sent with frequency 8 (837I: type of "
        "bill digit 8) and REF*F8 (the payer's claim control number from a 277CA, else our "
        "patient control number); the claim is REVERSED and its charges are held "
        "(held_for_rebuild) until they change or it is rebuilt. "
        "Audit-logged with the caller and the reason.",
        responses=_problems(
            {
                404: "CLAIM_NOT_FOUND",
                409: "CLAIM_NOT_REVERSIBLE (wrong status; a REJECTED claim is rebuilt instead), "
                "CLAIM_WITHDRAWAL_PENDING (the gateway was asked not to send it and has not "
                "answered yet), UNKNOWN_PAYER",
                422: "REASON_REQUIRED, REASON_TOO_LONG",
            }
        ),
    )
    async def post_reverse(
        claim_id: str,
        request: Request,
        principal: Writer,
        body: CorrectionIn | None = None,
    ) -> ClaimDetailOut:
        runtime = _runtime(request)
        reason = body.reason if body else None
        async with runtime.unit_of_work() as uow:
            await reverse_claim(uow, deps, principal.tenant_id, claim_id, reason, principal.subject)
            await uow.commit()
        runtime.relay.wake()
        async with runtime.sessionmaker() as session:
            detail = await claim_detail(session, principal.tenant_id, claim_id)
        return detail_out(detail)

    @router.post(
        "/{claim_id}/replace",
        response_model=ClaimDetailOut,
        summary="Replace a claim that left our hands (SUBMITTED, ACCEPTED, or STALE waiting for a "
        "reversal): its next version is built from the current charges or stay, frequency 7 "
        "(837I: type of bill digit 7) with REF*F8, scrubbed and submitted; the version sent "
        "before stays in the history as REPLACED. Audit-logged with the caller and the reason.",
        responses=_problems(
            {
                404: "CLAIM_NOT_FOUND",
                409: "CLAIM_NOT_REPLACEABLE (wrong status; a REJECTED claim is rebuilt instead), "
                "CLAIM_WITHDRAWAL_PENDING, NOTHING_CHANGED (it would bill what was sent), "
                "NOTHING_TO_REPLACE (nothing billable is left: reverse it), CYCLE_NOT_READY, "
                "UNKNOWN_PAYER",
                422: "REASON_REQUIRED, REASON_TOO_LONG, REPLACEMENT_NOT_CLEAN (with the scrub "
                "issues; nothing changed)",
            }
        ),
    )
    async def post_replace(
        claim_id: str,
        request: Request,
        principal: Writer,
        body: CorrectionIn | None = None,
    ) -> ClaimDetailOut:
        runtime = _runtime(request)
        reason = body.reason if body else None
        async with runtime.unit_of_work() as uow:
            await replace_claim(uow, deps, principal.tenant_id, claim_id, reason, principal.subject)
            await uow.commit()
        runtime.relay.wake()
        async with runtime.sessionmaker() as session:
            detail = await claim_detail(session, principal.tenant_id, claim_id)
        return detail_out(detail)

    @router.post(
        "/{claim_id}/submit",
        response_model=ClaimOut,
        summary="Submit a READY claim to its payer's clearinghouse (409 unless READY)",
    )
    async def post_submit(claim_id: str, request: Request, principal: Writer) -> ClaimOut:
        runtime = _runtime(request)
        async with runtime.unit_of_work() as uow:
            await submit_claim(uow, deps, principal.tenant_id, claim_id, principal.subject)
            await uow.commit()
        runtime.relay.wake()
        async with runtime.sessionmaker() as session:
            views = await claims_by_id(session, principal.tenant_id, [claim_id])
        return _claim(views[0])

    @router.get(
        "/{claim_id}/edi",
        response_model=ClaimEdiOut,
        summary="Where the claim's 837 is (409 NOT_TRANSMITTED until the gateway sends it)",
    )
    async def get_edi(claim_id: str, request: Request, principal: Reader) -> ClaimEdiOut:
        async with _runtime(request).sessionmaker() as session:
            summary, transmissions = await claim_transmissions(
                session, principal.tenant_id, claim_id
            )
        newest = transmissions[-1]
        base = (deps.edi_gateway_url or "").rstrip("/")
        return ClaimEdiOut(
            claim_id=summary.claim_id,
            claim_version=summary.version,
            patient_control_number=summary.patient_control_number,
            status=ClaimStatus(summary.status),
            transmission=_transmission(newest),
            transmissions=[_transmission(t) for t in transmissions],
            gateway_url=f"{base}/v1/claims/{summary.claim_id}/transmissions",
        )

    return router
