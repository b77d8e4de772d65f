"""Events produced by the claims service.

``claims.claim.submitted.v1`` is a claim ready to leave: everything the EDI gateway needs
to render it (parties, diagnoses, lines), decided by the claims service at build time, so
the gateway renders and never re-decides. It carries PHI in its body (never in logs or
file names). ``claims.claim.status_changed.v1`` tells other services where a claim stands
(and which charges and sessions it holds), e.g. attendance refusing to reopen a session
whose charges sit on a submitted claim. ``claims.claim.withdrawal_requested.v1`` asks the
gateway not to send a submitted claim version that went STALE before it left."""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import ClassVar, Literal, Self

from pydantic import Field, model_validator

from contracts.address import PostalAddress
from contracts.codes import (
    PHI,
    AdministrativeSex,
    CalendarDate,
    ClaimFilingIndicator,
    Icd10CmCode,
    Identifier,
    Modifier,
    Money,
    Npi,
    PersonName,
    PlaceOfService,
    ProcedureCode,
    RelationshipToSubscriber,
    RevenueCode,
    TaxId,
    TaxonomyCode,
)
from contracts.events.base import ContractModel, EventData
from contracts.events.event_types import (
    CLAIM_STATUS_CHANGED_V1,
    CLAIM_SUBMITTED_V1,
    CLAIM_WITHDRAWAL_REQUESTED_V1,
)
from contracts.problems import Problem, raise_problems

PATIENT_CONTROL_NUMBER = r"^[A-Za-z0-9-]{1,20}$"


class ClaimStatus(StrEnum):
    DRAFT = "DRAFT"
    READY = "READY"
    SUBMITTED = "SUBMITTED"
    ACCEPTED = "ACCEPTED"
    REJECTED = "REJECTED"
    STALE = "STALE"
    REVERSED = "REVERSED"
    REPLACED = "REPLACED"


class TransactionType(StrEnum):
    PROFESSIONAL = "837P"
    INSTITUTIONAL = "837I"


class FrequencyCode(StrEnum):
    """CLM05-3: 1 original, 7 replacement, 8 void (and 2/3/4 interim for institutional)."""

    ORIGINAL = "1"
    INTERIM_FIRST = "2"
    INTERIM_CONTINUING = "3"
    INTERIM_LAST = "4"
    REPLACEMENT = "7"
    VOID = "8"


class BillingProviderParty(ContractModel):
    name: str = Field(min_length=1, max_length=60)
    npi: Npi
    tax_id: TaxId
    taxonomy_code: TaxonomyCode
    address: PostalAddress
    contact_name: str | None = Field(default=None, max_length=60)
    contact_phone: str | None = Field(default=None, pattern=r"^[0-9]{10}$")


class PayerParty(ContractModel):
    payer_id: Identifier = Field(description="Internal id (tenant configuration).")
    name: str = Field(min_length=1, max_length=60)
    edi_payer_id: str = Field(pattern=r"^[A-Za-z0-9-]{2,80}$")
    payer_id_qualifier: Literal["PI", "XV"] = "PI"
    claim_filing_indicator: ClaimFilingIndicator


class PersonParty(ContractModel):
    first_name: PersonName = Field(json_schema_extra=PHI)
    last_name: PersonName = Field(json_schema_extra=PHI)
    middle_name: PersonName | None = Field(default=None, json_schema_extra=PHI)
    birth_date: CalendarDate = Field(json_schema_extra=PHI)
    sex: AdministrativeSex
    address: PostalAddress | None = Field(default=None, json_schema_extra=PHI)


class SubscriberParty(PersonParty):
    member_id: Identifier | None = Field(
        default=None, description="Our member id when the subscriber is the patient."
    )
    subscriber_id: str = Field(
        min_length=1, max_length=80, pattern=r"^[!-~]+$", json_schema_extra=PHI
    )
    group_number: str | None = Field(default=None, max_length=50)
    relationship_to_subscriber: RelationshipToSubscriber = Field(
        description="The patient's relationship to this subscriber (18 = self)."
    )


class PatientParty(PersonParty):
    """The patient when not the subscriber (2000C/2010CA)."""

    member_id: Identifier


class ProviderParty(ContractModel):
    provider_id: Identifier
    npi: Npi
    first_name: PersonName
    last_name: PersonName
    middle_name: PersonName | None = None
    taxonomy_code: TaxonomyCode | None = None


class ProfessionalLine(ContractModel):
    line_number: int = Field(ge=1, le=50)
    line_control_number: str = Field(
        pattern=r"^[A-Za-z0-9-]{1,30}$", description="REF*6R; unique within the claim."
    )
    procedure_code: ProcedureCode
    modifiers: list[Modifier] = Field(default_factory=list, max_length=4)
    amount: Money
    units: Decimal = Field(gt=0, max_digits=9, decimal_places=3)
    unit_basis: Literal["UN", "MJ"] = "UN"
    date_of_service: CalendarDate
    place_of_service: PlaceOfService | None = None
    diagnosis_pointers: list[int] = Field(min_length=1, max_length=4)
    rendering_provider: ProviderParty | None = Field(
        default=None, description="Present only when it differs from the billing provider."
    )
    charge_ids: list[Identifier] = Field(min_length=1)


class InstitutionalLine(ContractModel):
    """An 837I service line (SV2): an accommodation roll-up per (cycle, revenue code) in
    days, an LOA line per LOA revenue code (non-covered, $0.00 unless bed-hold), or one
    ancillary/other charge."""

    line_number: int = Field(ge=1, le=999)
    line_control_number: str = Field(pattern=r"^[A-Za-z0-9-]{1,30}$")
    revenue_code: RevenueCode
    procedure_code: ProcedureCode | None = None
    modifiers: list[Modifier] = Field(default_factory=list, max_length=4)
    amount: Money
    unit_basis: Literal["DA", "UN"]
    units: Decimal = Field(gt=0, max_digits=9, decimal_places=3)
    non_covered_amount: Money | None = None
    service_from: CalendarDate
    service_to: CalendarDate
    charge_ids: list[Identifier] = Field(min_length=1)


class DateSpan(ContractModel):
    start: CalendarDate
    end: CalendarDate


class OccurrenceSpan(ContractModel):
    code: str = Field(pattern=r"^[0-9A-Z]{2}$", description="e.g. 74 leave of absence")
    start: CalendarDate
    end: CalendarDate


class Occurrence(ContractModel):
    code: str = Field(pattern=r"^[0-9A-Z]{2}$", description="e.g. 42 discharge, 55 death")
    date: CalendarDate


class ValueCode(ContractModel):
    code: str = Field(pattern=r"^[0-9A-Z]{2}$", description="80 covered days, 81 non-covered")
    amount: Decimal = Field(ge=0, max_digits=12, decimal_places=2)


class ProcedureOnClaim(ContractModel):
    code: str = Field(pattern=r"^[0-9A-HJ-NP-Z]{7}$", description="ICD-10-PCS")
    performed_on: CalendarDate


class InstitutionalDetail(ContractModel):
    """What an 837I adds (SPEC 6 'How a cycle claim looks'), decided by the claims
    service: the gateway renders it verbatim."""

    type_of_bill: str = Field(
        pattern=r"^[1-9][0-9]$", description="CLM05-1: facility type + classification, e.g. 86"
    )
    statement_period: DateSpan
    admission_date: CalendarDate
    admission_hour: int | None = Field(default=None, ge=0, le=23)
    admission_type: str = Field(pattern=r"^[1-59]$")
    admission_source: str = Field(pattern=r"^[0-9A-Z]$")
    patient_status: str = Field(pattern=r"^[0-9]{2}$", description="CL103; 30 on interim")
    discharge_hour: int | None = Field(
        default=None, ge=0, le=23, description="DTP*096, only on final claims"
    )
    principal_diagnosis: Icd10CmCode = Field(json_schema_extra=PHI)
    admitting_diagnosis: Icd10CmCode | None = Field(default=None, json_schema_extra=PHI)
    other_diagnoses: list[Icd10CmCode] = Field(
        default_factory=list, max_length=24, json_schema_extra=PHI
    )
    drg: str | None = Field(default=None, pattern=r"^[0-9]{3}$", json_schema_extra=PHI)
    principal_procedure: ProcedureOnClaim | None = Field(default=None, json_schema_extra=PHI)
    other_procedures: list[ProcedureOnClaim] = Field(
        default_factory=list, max_length=24, json_schema_extra=PHI
    )
    occurrence_spans: list[OccurrenceSpan] = Field(default_factory=list, max_length=24)
    occurrences: list[Occurrence] = Field(default_factory=list, max_length=24)
    value_codes: list[ValueCode] = Field(default_factory=list, max_length=24)
    attending_provider: ProviderParty | None = None
    service_lines: list[InstitutionalLine] = Field(min_length=1, max_length=999)


class ClaimSource(ContractModel):
    """What the claim bills: sessions (group) or a stay cycle (per diem)."""

    session_ids: list[Identifier] = Field(default_factory=list)
    stay_id: Identifier | None = None


class ClaimSubmitted(EventData):
    """A claim to render and send (SPEC 6, 7)."""

    event_type: ClassVar[str] = CLAIM_SUBMITTED_V1

    claim_id: Identifier
    claim_version: int = Field(ge=1)
    transaction_type: TransactionType
    clearinghouse_id: Identifier
    patient_control_number: str = Field(pattern=PATIENT_CONTROL_NUMBER)
    frequency_code: FrequencyCode = FrequencyCode.ORIGINAL
    original_reference: str | None = Field(
        default=None, max_length=50, description="REF*F8 on replacements and voids."
    )
    billing_provider: BillingProviderParty
    pay_to_address: PostalAddress | None = None
    payer: PayerParty
    subscriber: SubscriberParty
    patient: PatientParty | None = None
    diagnoses: list[Icd10CmCode] = Field(min_length=1, max_length=12, json_schema_extra=PHI)
    place_of_service: PlaceOfService | None = None
    total_charge: Money
    service_lines: list[ProfessionalLine] = Field(
        default_factory=list,
        max_length=50,
        description="837P lines; empty on an 837I, whose lines are in institutional.",
    )
    institutional: InstitutionalDetail | None = Field(
        default=None, description="Present exactly on 837I claims."
    )
    source: ClaimSource = Field(default_factory=ClaimSource)

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        problems: list[Problem] = []
        institutional = self.transaction_type is TransactionType.INSTITUTIONAL
        if institutional != (self.institutional is not None):
            problems.append((("institutional",), "present exactly on 837I claims"))
        if not institutional and not self.service_lines:
            problems.append((("service_lines",), "an 837P claim has at least one line"))
        lines: list[ProfessionalLine | InstitutionalLine] = list(self.service_lines)
        if self.institutional is not None:
            lines = list(self.institutional.service_lines)
        total = sum((line.amount for line in lines), Decimal("0.00"))
        if total != self.total_charge:
            problems.append((("total_charge",), "must equal the sum of the line amounts"))
        is_self = self.subscriber.relationship_to_subscriber is RelationshipToSubscriber.SELF
        if is_self == (self.patient is not None):
            problems.append(
                (("patient",), "present exactly when the patient is not the subscriber")
            )
        if self.frequency_code in (FrequencyCode.REPLACEMENT, FrequencyCode.VOID) and not (
            self.original_reference
        ):
            problems.append((("original_reference",), "a replacement or void names the original"))
        controls = [line.line_control_number for line in lines]
        if len(set(controls)) != len(controls):
            problems.append((("service_lines",), "line control numbers repeat"))
        for index, line in enumerate(self.service_lines):
            for pointer in line.diagnosis_pointers:
                if pointer > len(self.diagnoses):
                    problems.append(
                        (("service_lines", index, "diagnosis_pointers"), "points past diagnoses")
                    )
        raise_problems(type(self).__name__, problems)
        return self


class ClaimStatusChanged(EventData):
    """Where a claim stands now, with what it holds. One per claim per change the claims
    service commits: a claim built READY and submitted in the same step (a tenant that
    auto-submits) is announced once, as SUBMITTED, its ``previous_status`` the status
    announced before (none for a new claim); the claim's history keeps both steps."""

    event_type: ClassVar[str] = CLAIM_STATUS_CHANGED_V1

    claim_id: Identifier
    claim_version: int = Field(ge=1)
    status: ClaimStatus
    previous_status: ClaimStatus | None = None
    patient_control_number: str = Field(pattern=PATIENT_CONTROL_NUMBER)
    member_id: Identifier
    charge_ids: list[Identifier] = Field(default_factory=list)
    source: ClaimSource = Field(default_factory=ClaimSource)
    reason_codes: list[str] = Field(default_factory=list)
    reason: str | None = Field(default=None, max_length=500)


class ClaimWithdrawalRequested(EventData):
    """A submitted claim version went STALE (a late stay event or day charge changed what
    it bills) before the claims service heard that it was sent: the EDI gateway is asked
    not to send it. The gateway answers with ``edi.claim.withdrawal_answered.v1``:
    withdrawn while it still waited for its batch (the claims service then rebuilds it as
    an original, never sent), or too late (it is in an interchange already, and the claim
    needs a void or a replacement as any claim that left). Until the answer the claims
    service refuses an operator's void or replacement of that claim."""

    event_type: ClassVar[str] = CLAIM_WITHDRAWAL_REQUESTED_V1

    claim_id: Identifier
    claim_version: int = Field(ge=1)
    patient_control_number: str = Field(pattern=PATIENT_CONTROL_NUMBER)
    clearinghouse_id: Identifier
    transaction_type: TransactionType
    reason_codes: list[str] = Field(default_factory=list, description="Why it went STALE.")
