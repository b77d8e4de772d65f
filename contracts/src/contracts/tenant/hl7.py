"""The tenant's HL7 v2 ADT interface (issue #7): which sending facilities (MSH-4) speak for
the tenant, which facility and program an admission's assigned location (PV1-3.4) means,
and the tables turning HL7 codes into NUBC ones. The stays service's MLLP listener reads
it; the tables add to (or override) the listener's defaults, documented in
``docs/design/hl7-adt.md``."""

from __future__ import annotations

from typing import Annotated, Literal, Self

from pydantic import Field, model_validator

from contracts.codes import (
    AdmissionType,
    Identifier,
    LeaveReason,
    PatientStatusCode,
    PointOfOriginCode,
)
from contracts.problems import Problem, duplicate_problems, raise_problems
from contracts.tenant.effective_dating import TenantModel

__all__ = ["Hl7AdmitEvent", "Hl7Code", "Hl7Facility", "Hl7Interface"]

#: An HL7 coded value or HD namespace id as sent (no delimiters: | ^ ~ \ &).
Hl7Code = Annotated[str, Field(pattern=r"^[^|^~\\&\r\n]{1,64}$")]

#: The trigger events that admit: A01 always; A04 (register) and A05 (pre-admit) when the
#: tenant's EHR announces residential admissions with them.
Hl7AdmitEvent = Literal["A01", "A04", "A05"]


def _a01_only() -> list[Hl7AdmitEvent]:
    return ["A01"]


class Hl7Facility(TenantModel):
    """An HL7 facility code (PV1-3.4, or MSH-4 when PV1-3.4 is empty) and the facility and
    program an admission there is recorded under."""

    code: Hl7Code
    facility_id: Identifier
    program_id: Identifier


class Hl7Interface(TenantModel):
    sending_facilities: list[Hl7Code] = Field(
        min_length=1, description="MSH-4.1 values of this tenant's EHR (one tenant each)."
    )
    admit_events: list[Hl7AdmitEvent] = Field(
        default_factory=_a01_only, min_length=1, description="Triggers that admit."
    )
    facilities: list[Hl7Facility] = Field(min_length=1)
    member_identifier_type: Hl7Code | None = Field(
        default="MR",
        description="PID-3 identifier type code (CX.5) naming the member id; None: the "
        "first PID-3 repetition.",
    )
    discharge_dispositions: dict[Hl7Code, PatientStatusCode] = Field(
        default_factory=dict,
        description="PV1-36 -> NUBC patient status, over the default table (the NUBC codes "
        "themselves, as HL7 table 0112 suggests).",
    )
    admission_types: dict[Hl7Code, AdmissionType] = Field(
        default_factory=dict, description="PV1-4 -> NUBC priority of admission, over defaults."
    )
    admission_sources: dict[Hl7Code, PointOfOriginCode] = Field(
        default_factory=dict, description="PV1-14 -> NUBC point of origin, over defaults."
    )
    leave_reasons: dict[Hl7Code, LeaveReason] = Field(
        default_factory=dict, description="EVN-4 event reason of an A21 -> leave reason."
    )

    @model_validator(mode="after")
    def _unique(self) -> Self:
        problems: list[Problem] = [
            (("sending_facilities", index), f"duplicate sending facility '{code}'")
            for index, code in enumerate(self.sending_facilities)
            if code in self.sending_facilities[:index]
        ]
        problems += duplicate_problems(
            [f.code for f in self.facilities], "facilities", "code", "facility code"
        )
        raise_problems(type(self).__name__, problems)
        return self
