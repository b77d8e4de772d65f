"""Events from the EHR: members with coverage and enrollments, providers, facilities, and
the stay feed (admission, leaves of absence, discharge, corrections).

``*.upserted`` events carry the whole record (state transfer): the consumer replaces what
it holds. The HL7 v2 ADT adapter maps A01/A03/A21/A22 and the cancels A11/A13/A52/A53 to
these same stay events. All dates are facility-local calendar dates; ``*_to`` dates are
inclusive (the last day in force).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, ClassVar, Literal, Self

from pydantic import AwareDatetime, Field, model_validator

from contracts.address import PostalAddress
from contracts.codes import (
    PHI,
    AdministrativeSex,
    CalendarDate,
    Hour,
    Icd10CmCode,
    Identifier,
    LeaveReason,
    Note,
    Npi,
    PatientStatusCode,
    PersonName,
    RelationshipToSubscriber,
    TaxId,
    TaxonomyCode,
    TimeZoneName,
)
from contracts.events.base import ContractModel, EventData
from contracts.events.event_types import (
    FACILITY_UPSERTED_V1,
    MEMBER_UPSERTED_V1,
    PROVIDER_UPSERTED_V1,
    STAY_ADMITTED_V1,
    STAY_CORRECTED_V1,
    STAY_DISCHARGED_V1,
    STAY_LEAVE_ENDED_V1,
    STAY_LEAVE_STARTED_V1,
)
from contracts.events.stay_components import (
    Admission,
    Discharge,
    LeaveOfAbsence,
    StayCorrectionKind,
    check_patient_status_is_a_discharge,
)
from contracts.problems import Problem, duplicate_problems, raise_problems


def _windows_overlap(
    first_from: date, first_to: date | None, second_from: date, second_to: date | None
) -> bool:
    return (first_to is None or second_from <= first_to) and (
        second_to is None or first_from <= second_to
    )


# --------------------------------------------------------------------------- member


class CoverageSubscriber(ContractModel):
    """The subscriber (policy holder) when the member is not the subscriber."""

    first_name: PersonName = Field(json_schema_extra=PHI)
    last_name: PersonName = Field(json_schema_extra=PHI)
    middle_name: PersonName | None = Field(default=None, json_schema_extra=PHI)
    birth_date: CalendarDate = Field(json_schema_extra=PHI)
    sex: AdministrativeSex
    address: PostalAddress | None = Field(default=None, json_schema_extra=PHI)


class Coverage(ContractModel):
    """A coverage policy of the member with one payer."""

    coverage_id: Identifier
    payer_id: Identifier = Field(description="The payer's internal id in tenant configuration.")
    subscriber_id: str = Field(
        min_length=1, max_length=80, pattern=r"^[!-~]+$", json_schema_extra=PHI
    )
    relationship_to_subscriber: RelationshipToSubscriber = Field(
        description="X12 individual relationship code; 18 = the member is the subscriber."
    )
    subscriber: CoverageSubscriber | None = Field(
        default=None,
        json_schema_extra=PHI,
        description="Required when the member is not the subscriber; absent when self.",
    )
    is_primary: bool
    effective_from: CalendarDate
    effective_to: CalendarDate | None = None
    group_number: str | None = Field(default=None, min_length=1, max_length=50)

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        problems: list[Problem] = []
        is_self = self.relationship_to_subscriber is RelationshipToSubscriber.SELF
        if not is_self and self.subscriber is None:
            problems.append((("subscriber",), "required when the member is not the subscriber"))
        if is_self and self.subscriber is not None:
            problems.append((("subscriber",), "must be absent when the member is the subscriber"))
        if self.effective_to is not None and self.effective_to < self.effective_from:
            problems.append((("effective_to",), "is before effective_from"))
        raise_problems(type(self).__name__, problems)
        return self


class ProgramEnrollment(ContractModel):
    """A window during which the member is enrolled in a program (admit-date resolution)."""

    program_id: Identifier
    enrolled_from: CalendarDate
    enrolled_to: CalendarDate | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.enrolled_to is not None and self.enrolled_to < self.enrolled_from:
            raise_problems(type(self).__name__, [(("enrolled_to",), "is before enrolled_from")])
        return self


class MemberUpserted(EventData):
    """A member's demographics, coverages and program enrollments, whole."""

    event_type: ClassVar[str] = MEMBER_UPSERTED_V1

    member_id: Identifier
    first_name: PersonName = Field(json_schema_extra=PHI)
    last_name: PersonName = Field(json_schema_extra=PHI)
    middle_name: PersonName | None = Field(default=None, json_schema_extra=PHI)
    birth_date: CalendarDate = Field(json_schema_extra=PHI)
    sex: AdministrativeSex
    address: PostalAddress | None = Field(default=None, json_schema_extra=PHI)
    active: bool = True
    coverages: list[Coverage] = Field(default_factory=list)
    program_enrollments: list[ProgramEnrollment] = Field(default_factory=list)
    diagnoses: list[Icd10CmCode] = Field(
        default_factory=list,
        max_length=12,
        json_schema_extra=PHI,
        description="The member's active diagnoses, principal first: what a professional "
        "claim (HI*ABK/ABF) reports for services without a diagnosis of their own.",
    )
    revision: int | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        problems = duplicate_problems(
            [coverage.coverage_id for coverage in self.coverages],
            "coverages",
            "coverage_id",
            "coverage",
        )
        primaries = [(i, c) for i, c in enumerate(self.coverages) if c.is_primary]
        for later, (index, coverage) in enumerate(primaries):
            for other_index, other in primaries[:later]:
                if _windows_overlap(
                    other.effective_from,
                    other.effective_to,
                    coverage.effective_from,
                    coverage.effective_to,
                ):
                    problems.append(
                        (
                            ("coverages", index, "is_primary"),
                            f"two primary coverages in force on the same dates "
                            f"(overlaps coverages[{other_index}])",
                        )
                    )
        for later, enrollment in enumerate(self.program_enrollments):
            for other_index, earlier in enumerate(self.program_enrollments[:later]):
                if earlier.program_id == enrollment.program_id and _windows_overlap(
                    earlier.enrolled_from,
                    earlier.enrolled_to,
                    enrollment.enrolled_from,
                    enrollment.enrolled_to,
                ):
                    problems.append(
                        (
                            ("program_enrollments", later, "enrolled_from"),
                            f"overlaps program_enrollments[{other_index}] in the same program",
                        )
                    )
        raise_problems(type(self).__name__, problems)
        return self


# --------------------------------------------------------------------------- provider, facility


class ProviderUpserted(EventData):
    """A rendering or supervising provider (staff member with an NPI)."""

    event_type: ClassVar[str] = PROVIDER_UPSERTED_V1

    provider_id: Identifier
    npi: Npi
    first_name: PersonName
    last_name: PersonName
    middle_name: PersonName | None = None
    credential: str | None = Field(default=None, min_length=1, max_length=20, examples=["LCSW"])
    taxonomy_code: TaxonomyCode
    active: bool
    revision: int | None = Field(default=None, ge=0)


class FacilityUpserted(EventData):
    """A facility (service location). Its time zone makes session times and business
    dates local; its state scopes supervision-ratio rules."""

    event_type: ClassVar[str] = FACILITY_UPSERTED_V1

    facility_id: Identifier
    name: str = Field(min_length=1, max_length=60)
    npi: Npi
    tax_id: TaxId
    address: PostalAddress
    time_zone: TimeZoneName
    taxonomy_code: TaxonomyCode
    active: bool = True
    revision: int | None = Field(default=None, ge=0)


# --------------------------------------------------------------------------- stay feed


class EhrStayAdmitted(EventData):
    """A member was admitted to a facility in a program."""

    event_type: ClassVar[str] = STAY_ADMITTED_V1

    stay_id: Identifier
    member_id: Identifier
    facility_id: Identifier
    program_id: Identifier
    admission: Admission


class EhrStayLeaveStarted(EventData):
    """A resident left on a leave of absence (HL7 A21)."""

    event_type: ClassVar[str] = STAY_LEAVE_STARTED_V1

    stay_id: Identifier
    leave_id: Identifier
    start_date: CalendarDate = Field(description="First day away at midnight (not covered).")
    reason: LeaveReason = LeaveReason.OTHER
    expected_return_date: CalendarDate | None = None
    note: Note | None = Field(default=None, json_schema_extra=PHI)

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.expected_return_date is not None and self.expected_return_date <= self.start_date:
            raise_problems(
                type(self).__name__,
                [(("expected_return_date",), "must be after start_date")],
            )
        return self


class EhrStayLeaveEnded(EventData):
    """A resident came back from a leave of absence (HL7 A22)."""

    event_type: ClassVar[str] = STAY_LEAVE_ENDED_V1

    stay_id: Identifier
    leave_id: Identifier
    return_date: CalendarDate = Field(description="Day the member is back (a covered day).")


class EhrStayDischarged(EventData):
    """A member was discharged (HL7 A03); closes the stay."""

    event_type: ClassVar[str] = STAY_DISCHARGED_V1

    stay_id: Identifier
    discharge_date: CalendarDate
    discharge_hour: Hour
    patient_status: PatientStatusCode = Field(
        description="NUBC patient discharge status, e.g. 01 home; never 30."
    )

    @model_validator(mode="after")
    def _a_discharge_status(self) -> Self:
        raise_problems(
            type(self).__name__, check_patient_status_is_a_discharge(self.patient_status)
        )
        return self


class AdmissionChanged(ContractModel):
    """The admission's fields were corrected; ``admission`` is the whole corrected one."""

    kind: Literal[StayCorrectionKind.ADMISSION_CHANGED]
    admission: Admission


class AdmissionEnteredInError(ContractModel):
    """The admission was entered in error (HL7 A11): the stay and its charges are void."""

    kind: Literal[StayCorrectionKind.ADMISSION_ENTERED_IN_ERROR]


class DischargeChanged(ContractModel):
    """The discharge date, hour or status was corrected; ``discharge`` is the corrected one."""

    kind: Literal[StayCorrectionKind.DISCHARGE_CHANGED]
    discharge: Discharge


class DischargeUndone(ContractModel):
    """The discharge was undone (HL7 A13): the member is still a patient."""

    kind: Literal[StayCorrectionKind.DISCHARGE_UNDONE]


class LeaveChanged(ContractModel):
    """A leave was corrected, or recorded after the fact; ``leave`` is its whole new state
    (``return_date`` None reopens it: HL7 A53 cancels a return)."""

    kind: Literal[StayCorrectionKind.LEAVE_CHANGED]
    leave: LeaveOfAbsence


class LeaveCancelled(ContractModel):
    """A leave was entered in error (HL7 A52): its days are covered days again."""

    kind: Literal[StayCorrectionKind.LEAVE_CANCELLED]
    leave_id: Identifier


StayCorrection = Annotated[
    AdmissionChanged
    | AdmissionEnteredInError
    | DischargeChanged
    | DischargeUndone
    | LeaveChanged
    | LeaveCancelled,
    Field(discriminator="kind"),
]


class EhrStayCorrected(EventData):
    """A correction to a stay, told as what changed (``correction.kind``). A new kind of
    correction is a new event version, not an optional addition."""

    event_type: ClassVar[str] = STAY_CORRECTED_V1

    stay_id: Identifier
    correction: StayCorrection
    corrected_at: AwareDatetime
    corrected_by: Identifier | None = None
    note: Note | None = Field(default=None, json_schema_extra=PHI)
