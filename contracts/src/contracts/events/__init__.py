"""Event data models and the registry from CloudEvent ``type`` to model.

A consumer validates a message in two steps, so that the two failures get two codes:
``data_model_for(event.type)`` is None for an unknown type; ``model.model_validate(event.data)``
raises ``pydantic.ValidationError`` for a schema violation. When logging such an error use
``error.errors(include_input=False)``: inputs may be PHI.

Compatibility: models ignore unknown keys (a tolerant reader). Within a version a producer
only adds optional fields, and a consumer built against the older model must still accept
the message; a breaking change (a new required field, a new enum value or correction kind,
a changed meaning) is a new ``.vN`` type, and services accept both while both exist.

Fields holding PHI are marked ``json_schema_extra={"phi": True}``; ``phi_field_names()``
lists their names for the logging redactor.
"""

from __future__ import annotations

import typing
from functools import cache

from pydantic import BaseModel

from contracts.events.attendance import (
    AttendanceMarkRejected,
    GroupSessionClosed,
    GroupSessionReopened,
    MarkRejectionCode,
    ParticipantAttendance,
    SessionClosure,
    SupervisorAttendance,
)
from contracts.events.base import ContractModel, EventData
from contracts.events.charges import (
    Charge,
    ChargeChange,
    ChargeIssue,
    ChargeKind,
    ChargeSource,
    ChargeSourceKind,
    ChargesRecorded,
    ChargeStatus,
    DayChargeVersion,
    FilingType,
    GroupChargeContext,
    GroupSessionCharged,
    StayCharged,
    UnitBasis,
)
from contracts.events.claims import (
    BillingProviderParty,
    ClaimSource,
    ClaimStatus,
    ClaimStatusChanged,
    ClaimSubmitted,
    ClaimWithdrawalRequested,
    DateSpan,
    FrequencyCode,
    InstitutionalDetail,
    InstitutionalLine,
    Occurrence,
    OccurrenceSpan,
    PatientParty,
    PayerParty,
    PersonParty,
    ProcedureOnClaim,
    ProfessionalLine,
    ProviderParty,
    SubscriberParty,
    TransactionType,
    ValueCode,
)
from contracts.events.edi import (
    AcknowledgingParty,
    AcknowledgmentStage,
    EdiClaimAccepted,
    EdiClaimRejected,
    EdiClaimTransmitted,
    EdiClaimWithdrawalAnswered,
    LineAcknowledgment,
    RejectionStage,
    WithdrawalOutcome,
)
from contracts.events.ehr import (
    AdmissionChanged,
    AdmissionEnteredInError,
    Coverage,
    CoverageSubscriber,
    DischargeChanged,
    DischargeUndone,
    EhrStayAdmitted,
    EhrStayCorrected,
    EhrStayDischarged,
    EhrStayLeaveEnded,
    EhrStayLeaveStarted,
    FacilityUpserted,
    LeaveCancelled,
    LeaveChanged,
    MemberUpserted,
    ProgramEnrollment,
    ProviderUpserted,
    StayCorrection,
)
from contracts.events.event_types import (
    ATTENDANCE_MARK_REJECTED_V1,
    CHARGES_RECORDED_V1,
    CLAIM_STATUS_CHANGED_V1,
    CLAIM_SUBMITTED_V1,
    CLAIM_WITHDRAWAL_REQUESTED_V1,
    EDI_CLAIM_ACCEPTED_V1,
    EDI_CLAIM_REJECTED_V1,
    EDI_CLAIM_TRANSMITTED_V1,
    EDI_CLAIM_WITHDRAWAL_ANSWERED_V1,
    FACILITY_UPSERTED_V1,
    GROUP_SESSION_ATTENDANCE_MARKED_V1,
    GROUP_SESSION_CANCELLED_V1,
    GROUP_SESSION_CHARGED_V1,
    GROUP_SESSION_CLOSED_V1,
    GROUP_SESSION_REOPENED_V1,
    GROUP_SESSION_SCHEDULED_V1,
    GROUP_SESSION_UPDATED_V1,
    MEMBER_UPSERTED_V1,
    PROVIDER_UPSERTED_V1,
    STAY_ADMITTED_V1,
    STAY_CHARGED_V1,
    STAY_CORRECTED_V1,
    STAY_DISCHARGED_V1,
    STAY_LEAVE_ENDED_V1,
    STAY_LEAVE_STARTED_V1,
    STAYS_STAY_ADMITTED_V1,
    STAYS_STAY_CORRECTED_V1,
    STAYS_STAY_DISCHARGED_V1,
    STAYS_STAY_LEAVE_ENDED_V1,
    STAYS_STAY_LEAVE_STARTED_V1,
)
from contracts.events.scheduling import (
    AttendanceMarked,
    GroupSessionCancelled,
    GroupSessionScheduled,
    GroupSessionUpdated,
    RosterEntry,
    SessionSupervisor,
)
from contracts.events.stay_components import (
    Admission,
    Discharge,
    LeaveOfAbsence,
    ProcedurePerformed,
    StayCorrectionKind,
)
from contracts.events.stays import (
    StayAdmitted,
    StayCorrected,
    StayDischarged,
    StayLeaveEnded,
    StayLeaveStarted,
    StayState,
    StayStatus,
)

__all__ = [
    "ATTENDANCE_MARK_REJECTED_V1",
    "CHARGES_RECORDED_V1",
    "CLAIM_STATUS_CHANGED_V1",
    "CLAIM_SUBMITTED_V1",
    "CLAIM_WITHDRAWAL_REQUESTED_V1",
    "EDI_CLAIM_ACCEPTED_V1",
    "EDI_CLAIM_REJECTED_V1",
    "EDI_CLAIM_TRANSMITTED_V1",
    "EDI_CLAIM_WITHDRAWAL_ANSWERED_V1",
    "EVENT_DATA_MODELS",
    "FACILITY_UPSERTED_V1",
    "GROUP_SESSION_ATTENDANCE_MARKED_V1",
    "GROUP_SESSION_CANCELLED_V1",
    "GROUP_SESSION_CHARGED_V1",
    "GROUP_SESSION_CLOSED_V1",
    "GROUP_SESSION_REOPENED_V1",
    "GROUP_SESSION_SCHEDULED_V1",
    "GROUP_SESSION_UPDATED_V1",
    "MEMBER_UPSERTED_V1",
    "PROVIDER_UPSERTED_V1",
    "STAYS_STAY_ADMITTED_V1",
    "STAYS_STAY_CORRECTED_V1",
    "STAYS_STAY_DISCHARGED_V1",
    "STAYS_STAY_LEAVE_ENDED_V1",
    "STAYS_STAY_LEAVE_STARTED_V1",
    "STAY_ADMITTED_V1",
    "STAY_CHARGED_V1",
    "STAY_CORRECTED_V1",
    "STAY_DISCHARGED_V1",
    "STAY_LEAVE_ENDED_V1",
    "STAY_LEAVE_STARTED_V1",
    "AcknowledgingParty",
    "AcknowledgmentStage",
    "Admission",
    "AdmissionChanged",
    "AdmissionEnteredInError",
    "AttendanceMarkRejected",
    "AttendanceMarked",
    "BillingProviderParty",
    "Charge",
    "ChargeChange",
    "ChargeIssue",
    "ChargeKind",
    "ChargeSource",
    "ChargeSourceKind",
    "ChargeStatus",
    "ChargesRecorded",
    "ClaimSource",
    "ClaimStatus",
    "ClaimStatusChanged",
    "ClaimSubmitted",
    "ClaimWithdrawalRequested",
    "ContractModel",
    "Coverage",
    "CoverageSubscriber",
    "DateSpan",
    "DayChargeVersion",
    "Discharge",
    "DischargeChanged",
    "DischargeUndone",
    "EdiClaimAccepted",
    "EdiClaimRejected",
    "EdiClaimTransmitted",
    "EdiClaimWithdrawalAnswered",
    "EhrStayAdmitted",
    "EhrStayCorrected",
    "EhrStayDischarged",
    "EhrStayLeaveEnded",
    "EhrStayLeaveStarted",
    "EventData",
    "FacilityUpserted",
    "FilingType",
    "FrequencyCode",
    "GroupChargeContext",
    "GroupSessionCancelled",
    "GroupSessionCharged",
    "GroupSessionClosed",
    "GroupSessionReopened",
    "GroupSessionScheduled",
    "GroupSessionUpdated",
    "InstitutionalDetail",
    "InstitutionalLine",
    "LeaveCancelled",
    "LeaveChanged",
    "LeaveOfAbsence",
    "LineAcknowledgment",
    "MarkRejectionCode",
    "MemberUpserted",
    "Occurrence",
    "OccurrenceSpan",
    "ParticipantAttendance",
    "PatientParty",
    "PayerParty",
    "PersonParty",
    "ProcedureOnClaim",
    "ProcedurePerformed",
    "ProfessionalLine",
    "ProgramEnrollment",
    "ProviderParty",
    "ProviderUpserted",
    "RejectionStage",
    "RosterEntry",
    "SessionClosure",
    "SessionSupervisor",
    "StayAdmitted",
    "StayCharged",
    "StayCorrected",
    "StayCorrection",
    "StayCorrectionKind",
    "StayDischarged",
    "StayLeaveEnded",
    "StayLeaveStarted",
    "StayState",
    "StayStatus",
    "SubscriberParty",
    "SupervisorAttendance",
    "TransactionType",
    "UnitBasis",
    "ValueCode",
    "WithdrawalOutcome",
    "data_model_for",
    "phi_field_names",
]

_EVENT_MODELS: tuple[type[EventData], ...] = (
    GroupSessionScheduled,
    GroupSessionUpdated,
    GroupSessionCancelled,
    AttendanceMarked,
    MemberUpserted,
    ProviderUpserted,
    FacilityUpserted,
    EhrStayAdmitted,
    EhrStayLeaveStarted,
    EhrStayLeaveEnded,
    EhrStayDischarged,
    EhrStayCorrected,
    GroupSessionClosed,
    GroupSessionReopened,
    AttendanceMarkRejected,
    StayAdmitted,
    StayLeaveStarted,
    StayLeaveEnded,
    StayDischarged,
    StayCorrected,
    ChargesRecorded,
    GroupSessionCharged,
    StayCharged,
    ClaimSubmitted,
    ClaimStatusChanged,
    ClaimWithdrawalRequested,
    EdiClaimTransmitted,
    EdiClaimRejected,
    EdiClaimAccepted,
    EdiClaimWithdrawalAnswered,
)

EVENT_DATA_MODELS: dict[str, type[BaseModel]] = {model.event_type: model for model in _EVENT_MODELS}
"""CloudEvent ``type`` (routing key) -> the model of its ``data``."""


def data_model_for(event_type: str) -> type[BaseModel] | None:
    """The data model of ``event_type``, or None when the type is unknown."""
    return EVENT_DATA_MODELS.get(event_type)


def _models_in(annotation: object) -> list[type[BaseModel]]:
    """The pydantic models an annotation refers to (through lists, unions, Annotated)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [model for arg in typing.get_args(annotation) for model in _models_in(arg)]


def _phi_names(model: type[BaseModel], seen: set[type[BaseModel]]) -> set[str]:
    if model in seen:
        return set()
    seen.add(model)
    names: set[str] = set()
    for name, field in model.model_fields.items():
        extra = field.json_schema_extra
        if isinstance(extra, dict) and extra.get("phi") is True:
            names.add(name)
        for nested in _models_in(field.annotation):
            names |= _phi_names(nested, seen)
    return names


@cache
def phi_field_names() -> frozenset[str]:
    """Every field name marked PHI in any event model (nested parts included)."""
    seen: set[type[BaseModel]] = set()
    names: set[str] = set()
    for model in EVENT_DATA_MODELS.values():
        names |= _phi_names(model, seen)
    return frozenset(names)
