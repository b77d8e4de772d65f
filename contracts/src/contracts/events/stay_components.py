"""Parts of a stay shared by the EHR feed's stay events and the stays service's canonical
ones: the admission, a leave of absence, the discharge, and the kinds of correction.

Day conventions (the midnight rule, SPEC 6): a leave's ``start_date`` is the first day the
member is away at midnight (not a covered day); its ``return_date`` is the day the member
is back (a covered day). LOA days are the nights away: ``start_date`` through the day
before ``return_date``.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Self

from pydantic import Field, model_validator

from contracts.codes import (
    PHI,
    AdmissionType,
    CalendarDate,
    DrgCode,
    Hour,
    Icd10CmCode,
    Icd10PcsCode,
    Identifier,
    LeaveReason,
    PatientStatusCode,
    PointOfOriginCode,
)
from contracts.events.base import ContractModel
from contracts.problems import Problem, raise_problems

STILL_A_PATIENT = "30"


class StayCorrectionKind(StrEnum):
    """What a stay correction changes. Each is an event, never a silent edit (SPEC 4)."""

    ADMISSION_CHANGED = "ADMISSION_CHANGED"  # admit date/hour, type, source, dx, DRG, procedures
    ADMISSION_ENTERED_IN_ERROR = "ADMISSION_ENTERED_IN_ERROR"  # the stay never happened
    DISCHARGE_CHANGED = "DISCHARGE_CHANGED"  # discharge date, hour or status corrected
    DISCHARGE_UNDONE = "DISCHARGE_UNDONE"  # the member is still a patient
    LEAVE_CHANGED = "LEAVE_CHANGED"  # a leave's dates or reason corrected (or reopened)
    LEAVE_CANCELLED = "LEAVE_CANCELLED"  # a leave entered in error


class ProcedurePerformed(ContractModel):
    """An ICD-10-PCS procedure and the date it was performed (HI*BBR / HI*BBQ)."""

    code: Icd10PcsCode
    performed_on: CalendarDate


class Admission(ContractModel):
    """The admission of a stay: what CL1, DTP*435 and the HI segments of every cycle claim
    carry."""

    admit_date: CalendarDate
    admit_hour: Hour
    admission_type: AdmissionType = Field(description="NUBC priority of admission (CL101).")
    admission_source: PointOfOriginCode = Field(
        description="NUBC point of origin (CL102), e.g. 1 non-health-care facility."
    )
    principal_diagnosis: Icd10CmCode = Field(json_schema_extra=PHI)
    admitting_diagnosis: Icd10CmCode | None = Field(default=None, json_schema_extra=PHI)
    other_diagnoses: list[Icd10CmCode] = Field(
        default_factory=list, max_length=24, json_schema_extra=PHI
    )
    drg: DrgCode | None = Field(default=None, json_schema_extra=PHI)
    procedures: list[ProcedurePerformed] = Field(
        default_factory=list, max_length=25, json_schema_extra=PHI
    )

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        problems: list[Problem] = []
        seen = {self.principal_diagnosis}
        for index, code in enumerate(self.other_diagnoses):
            if code in seen:
                # No code in the message: diagnosis codes are PHI.
                problems.append(
                    (("other_diagnoses", index), "repeats the principal or another diagnosis")
                )
            seen.add(code)
        for index, procedure in enumerate(self.procedures):
            if procedure.performed_on < self.admit_date:
                problems.append((("procedures", index, "performed_on"), "is before the admit date"))
        raise_problems(type(self).__name__, problems)
        return self


class LeaveOfAbsence(ContractModel):
    """A leave of absence; ``return_date`` is None while the member is still away."""

    leave_id: Identifier
    start_date: CalendarDate = Field(description="First day away at midnight (not covered).")
    return_date: CalendarDate | None = Field(
        default=None, description="Day the member is back (covered); None while away."
    )
    reason: LeaveReason = LeaveReason.OTHER

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.return_date is not None and self.return_date <= self.start_date:
            raise_problems(
                type(self).__name__,
                [(("return_date",), "return_date must be after start_date (one night away)")],
            )
        return self


def check_patient_status_is_a_discharge(status: str) -> list[Problem]:
    if status == STILL_A_PATIENT:
        return [(("patient_status",), "30 (still a patient) is not a discharge status")]
    return []


class Discharge(ContractModel):
    """The discharge closing a stay (DTP*096, CL103 on the final claim)."""

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
