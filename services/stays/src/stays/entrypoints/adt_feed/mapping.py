"""HL7 v2 ADT messages mapped to the EHR feed's own stay events (``ehr.stay.*``), so that
an ADT message and the JSON event telling the same fact run the same handler and the same
use case. Pure: the tenant's ``hl7`` configuration in, an event (or, for the leave
messages that name no leave, an event waiting for the leave the stay points at) out.

    A01 (A04, A05 when enabled)  ehr.stay.admitted         PID-3, PV1-3/4/14/19/44, DG1, DRG, PR1
    A03                          ehr.stay.discharged       PV1-45 date/hour, PV1-36 -> NUBC
    A21                          ehr.stay.leave_started    EVN-6 (else EVN-2) start, EVN-4 reason
    A22                          ehr.stay.leave_ended      EVN-6 (else EVN-2) return
    A11                          ehr.stay.corrected        ADMISSION_ENTERED_IN_ERROR
    A13                          ehr.stay.corrected        DISCHARGE_UNDONE
    A52                          ehr.stay.corrected        LEAVE_CANCELLED
    A53                          ehr.stay.corrected        LEAVE_CHANGED, return removed
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from pydantic import ValidationError

from common.logging import safe_validation_errors
from contracts.codes import AdmissionType, LeaveReason
from contracts.events import (
    STAY_ADMITTED_V1,
    STAY_CORRECTED_V1,
    STAY_DISCHARGED_V1,
    STAY_LEAVE_ENDED_V1,
    STAY_LEAVE_STARTED_V1,
)
from contracts.events.base import EventData
from contracts.events.ehr import (
    AdmissionEnteredInError,
    DischargeUndone,
    EhrStayAdmitted,
    EhrStayCorrected,
    EhrStayDischarged,
    EhrStayLeaveEnded,
    EhrStayLeaveStarted,
    LeaveCancelled,
    LeaveChanged,
)
from contracts.events.stay_components import (
    Admission,
    LeaveOfAbsence,
    ProcedurePerformed,
    StayCorrectionKind,
)
from contracts.tenant import Hl7Interface, TenantConfig
from stays.domain.leave_reference import LeaveReference, LeaveSelector
from stays.domain.model import Leave
from stays.entrypoints.adt_feed.messages import (
    DATA_TYPE_ERROR,
    HL7_CODE_NOT_MAPPED,
    HL7_FACILITY_NOT_MAPPED,
    HL7_INVALID_FIELD,
    HL7_REQUIRED_FIELD_MISSING,
    HL7_SENDER_NOT_MAPPED,
    HL7_UNSUPPORTED_MESSAGE,
    REQUIRED_FIELD_MISSING,
    TABLE_VALUE_NOT_FOUND,
    UNKNOWN_KEY_IDENTIFIER,
    UNSUPPORTED_EVENT_CODE,
    UNSUPPORTED_MESSAGE_TYPE,
    AckCode,
    AdtRefusal,
    Hl7Message,
    Hl7Segment,
)

__all__ = [
    "DEFAULT_ADMISSION_SOURCES",
    "DEFAULT_ADMISSION_TYPES",
    "DEFAULT_DISCHARGE_DISPOSITIONS",
    "LeaveStayEvent",
    "SenderDirectory",
    "SenderTenant",
    "StayEvent",
    "leave_id_for",
    "map_adt",
]

#: PV1-36 -> NUBC patient status. HL7 table 0112 suggests the NUBC (UB) codes themselves;
#: one-digit forms are taken for the two-digit codes. A tenant's table adds or overrides.
_NUBC_DISCHARGE_STATUSES = (
    "01", "02", "03", "04", "05", "06", "07", "09", "20", "21", "40", "41", "42", "43",
    "50", "51", "61", "62", "63", "64", "65", "66", "69", "70",
    "81", "82", "83", "84", "85", "86", "87", "88", "89", "90", "91", "92", "93", "94", "95",
)  # fmt: skip
DEFAULT_DISCHARGE_DISPOSITIONS: Mapping[str, str] = {
    **{code: code for code in _NUBC_DISCHARGE_STATUSES},
    **{code[1]: code for code in _NUBC_DISCHARGE_STATUSES if code[0] == "0"},
}
#: PV1-4 (HL7 table 0007) -> NUBC priority of admission; NUBC digits pass through.
DEFAULT_ADMISSION_TYPES: Mapping[str, str] = {
    "E": "1",  # emergency
    "A": "1",  # accident
    "U": "2",  # urgent
    "L": "2",  # labor and delivery
    "R": "3",  # routine
    "C": "3",  # elective
    "N": "4",  # newborn
    **{digit: digit for digit in "12345" + "9"},
}
#: PV1-14 (HL7 table 0023, the UB admission sources) -> NUBC point of origin: the codes
#: carried on, 3 (HMO referral) as 2 (clinic or physician's office referral) and 7
#: (emergency room, retired by NUBC) as 1.
DEFAULT_ADMISSION_SOURCES: Mapping[str, str] = {
    **{code: code for code in "124569ABCDEFG"},
    "3": "2",
    "7": "1",
    "8": "8",
}

_ADMIT_TRIGGERS = frozenset({"A01", "A04", "A05"})
_HANDLED_TRIGGERS = _ADMIT_TRIGGERS | {"A03", "A11", "A13", "A21", "A22", "A52", "A53"}
_TIMESTAMP = re.compile(
    r"^(?P<date>\d{8})(?P<hour>\d{2})?(?P<minute>\d{2})?(?:\d{2}(?:\.\d{1,4})?)?"
    r"(?P<offset>[+-]\d{4})?$"
)


@dataclass(frozen=True)
class SenderTenant:
    """The tenant a sending facility speaks for, with its HL7 tables."""

    tenant_id: str
    interface: Hl7Interface
    time_zone: ZoneInfo


class SenderDirectory:
    """MSH-4 -> tenant, from every tenant's ``hl7`` section (one tenant per sender)."""

    def __init__(self, senders: Mapping[str, SenderTenant]) -> None:
        self._senders = dict(senders)

    @classmethod
    def from_tenants(cls, configs: Iterable[TenantConfig]) -> SenderDirectory:
        senders: dict[str, SenderTenant] = {}
        for config in configs:
            if config.hl7 is None:
                continue
            tenant = SenderTenant(config.tenant_id, config.hl7, ZoneInfo(config.time_zone))
            for code in config.hl7.sending_facilities:
                if code in senders:
                    raise ValueError(
                        f"HL7 sending facility {code!r} is configured for tenants "
                        f"{senders[code].tenant_id!r} and {config.tenant_id!r}"
                    )
                senders[code] = tenant
        return cls(senders)

    def __len__(self) -> int:
        return len(self._senders)

    def tenant_of(self, sending_facility: str) -> SenderTenant:
        tenant = self._senders.get(sending_facility)
        if tenant is None:
            raise AdtRefusal(
                AckCode.REJECT,
                HL7_SENDER_NOT_MAPPED,
                f"sending facility {sending_facility!r} is not configured for any tenant",
                condition=UNKNOWN_KEY_IDENTIFIER,
                location="MSH-4",
            )
        return tenant


@dataclass(frozen=True)
class StayEvent:
    """The EHR stay event the message tells."""

    event_type: str
    stay_id: str
    data: EventData


@dataclass(frozen=True)
class LeaveStayEvent:
    """An EHR stay event about a leave the message does not name: ``build`` it once the
    stay's state says which leave ``reference`` means."""

    event_type: str
    stay_id: str
    reference: LeaveReference
    build: Callable[[Leave], EventData]


AdtInstruction = StayEvent | LeaveStayEvent


def leave_id_for(stay_id: str, start_date: date) -> str:
    """The leave id of the stay's leave starting on ``start_date`` (ADT messages carry
    none): the same A21 told twice is the same leave."""
    leave_id = f"{stay_id}-loa-{start_date:%Y%m%d}"
    if len(leave_id) <= 64:
        return leave_id
    digest = hashlib.sha256(stay_id.encode()).hexdigest()[:16]
    return f"{digest}-loa-{start_date:%Y%m%d}"


# --------------------------------------------------------------------------- fields


def _missing(location: str, what: str) -> AdtRefusal:
    return AdtRefusal(
        AckCode.REJECT,
        HL7_REQUIRED_FIELD_MISSING,
        f"{location} ({what}) is required",
        condition=REQUIRED_FIELD_MISSING,
        location=location,
    )


def _invalid(location: str, why: str) -> AdtRefusal:
    return AdtRefusal(
        AckCode.REJECT,
        HL7_INVALID_FIELD,
        f"{location} {why}",
        condition=DATA_TYPE_ERROR,
        location=location,
    )


def _required(segment: Hl7Segment, number: int, what: str, component: int = 1) -> str:
    value = segment.value(number, component)
    if not value:
        raise _missing(f"{segment.name}-{number}", what)
    return value


@dataclass(frozen=True)
class _LocalTime:
    day: date
    hour: int | None


def _local_time(value: str, location: str, tz: ZoneInfo) -> _LocalTime:
    """An HL7 DTM as a facility-local date and hour: with a UTC offset it is converted to
    the tenant's time zone, without one it is facility-local already."""
    match = _TIMESTAMP.fullmatch(value)
    if match is None:
        raise _invalid(location, "is not an HL7 date/time (YYYYMMDD[HHMM[SS]][+/-ZZZZ])")
    try:
        day = datetime.strptime(match["date"], "%Y%m%d").date()  # noqa: DTZ007 - a date
        hour = int(match["hour"]) if match["hour"] else None
        minute = int(match["minute"]) if match["minute"] else 0
        if hour is None or not match["offset"]:
            if hour is not None and not (0 <= hour <= 23 and 0 <= minute <= 59):
                raise ValueError("hour")
            return _LocalTime(day, hour)
        sign = 1 if match["offset"][0] == "+" else -1
        offset = timedelta(hours=int(match["offset"][1:3]), minutes=int(match["offset"][3:5]))
        moment = datetime(
            day.year, day.month, day.day, hour, minute, tzinfo=timezone(sign * offset)
        ).astimezone(tz)
        return _LocalTime(moment.date(), moment.hour)
    except ValueError as exc:
        raise _invalid(location, "is not a valid date/time") from exc


def _local_date(segment: Hl7Segment, number: int, what: str, tz: ZoneInfo) -> date:
    location = f"{segment.name}-{number}"
    return _local_time(_required(segment, number, what), location, tz).day


def _local_date_hour(segment: Hl7Segment, number: int, what: str, tz: ZoneInfo) -> _LocalTime:
    location = f"{segment.name}-{number}"
    moment = _local_time(_required(segment, number, what), location, tz)
    if moment.hour is None:
        raise _invalid(location, f"({what}) needs the hour, not only the date")
    return moment


def _aware(value: str, tz: ZoneInfo) -> datetime | None:
    """An HL7 DTM as an aware date-time (facility-local when it has no offset)."""
    match = _TIMESTAMP.fullmatch(value)
    if match is None:
        return None
    try:
        naive = datetime.strptime(  # noqa: DTZ007 - the zone is set just below
            match["date"] + (match["hour"] or "00") + (match["minute"] or "00"), "%Y%m%d%H%M"
        )
    except ValueError:
        return None
    if match["offset"]:
        sign = 1 if match["offset"][0] == "+" else -1
        offset = timedelta(hours=int(match["offset"][1:3]), minutes=int(match["offset"][3:5]))
        return naive.replace(tzinfo=timezone(sign * offset))
    return naive.replace(tzinfo=tz)


def _mapped(
    value: str, location: str, defaults: Mapping[str, str], overrides: Mapping[str, str]
) -> str:
    mapped = overrides.get(value) or defaults.get(value) or defaults.get(value.upper())
    if mapped is None:
        raise AdtRefusal(
            AckCode.REJECT,
            HL7_CODE_NOT_MAPPED,
            f"{location} value {value!r} has no mapping in the tenant's HL7 tables",
            condition=TABLE_VALUE_NOT_FOUND,
            location=location,
        )
    return mapped


def _event_moment(message: Hl7Message, what: str, tz: ZoneInfo) -> date:
    """EVN-6 (event occurred), else EVN-2 (recorded): the day of a leave or return."""
    evn = message.required("EVN")
    number = 6 if evn.value(6) else 2
    return _local_date(evn, number, what, tz)


def _stay_id(pv1: Hl7Segment) -> str:
    return _required(pv1, 19, "visit number: the stay")


# --------------------------------------------------------------------------- the messages


def _member_id(pid: Hl7Segment, identifier_type: str | None) -> str:
    repetitions = pid.repetitions(3)
    chosen = repetitions[0] if repetitions and identifier_type is None else None
    if identifier_type is not None:
        chosen = next(
            (rep for rep in repetitions if pid.component_of(rep, 5) == identifier_type), None
        )
    member_id = pid.component_of(chosen) if chosen else ""
    if not member_id:
        kind = f" of type {identifier_type}" if identifier_type else ""
        raise _missing("PID-3", f"patient identifier{kind}: the member")
    return member_id


def _facility(message: Hl7Message, pv1: Hl7Segment, interface: Hl7Interface) -> tuple[str, str]:
    """(facility_id, program_id) of the assigned location's facility (PV1-3.4), or of the
    sending facility (MSH-4) when the location names none."""
    code = pv1.value(3, 4) or message.header.sending_facility
    for facility in interface.facilities:
        if facility.code == code:
            return facility.facility_id, facility.program_id
    raise AdtRefusal(
        AckCode.REJECT,
        HL7_FACILITY_NOT_MAPPED,
        f"facility {code!r} (PV1-3.4, else MSH-4) is not configured for the tenant",
        condition=UNKNOWN_KEY_IDENTIFIER,
        location="PV1-3",
    )


def _diagnoses(message: Hl7Message) -> tuple[str, str | None, list[str]]:
    """(principal, admitting, others) from the DG1 segments: the admitting diagnosis is
    DG1-6 type A; the principal the one of DG1-15 priority 1, else the first other than
    the admitting one (else the admitting one); the others the rest, once each."""
    entries = [
        (dg1.value(3), dg1.value(6).upper(), dg1.value(15))
        for dg1 in message.all("DG1")
        if dg1.value(3)
    ]
    admitting = next((code for code, kind, _ in entries if kind == "A"), None)
    not_admitting = [(code, priority) for code, kind, priority in entries if kind != "A"]
    principal = next((code for code, priority in not_admitting if priority == "1"), None)
    principal = principal or (not_admitting[0][0] if not_admitting else admitting)
    if principal is None:
        raise _missing("DG1-3", "diagnosis: the principal diagnosis")
    others: list[str] = []
    for code, _ in not_admitting:
        if code != principal and code not in others:
            others.append(code)
    return principal, admitting, others


def _procedures(message: Hl7Message, tz: ZoneInfo) -> list[ProcedurePerformed]:
    procedures: list[ProcedurePerformed] = []
    for pr1 in message.all("PR1"):
        code = _required(pr1, 3, "procedure code")
        performed_on = _local_date(pr1, 5, "procedure date/time", tz)
        procedures.append(ProcedurePerformed(code=code, performed_on=performed_on))
    return procedures


def _admitted(message: Hl7Message, tenant: SenderTenant) -> StayEvent:
    interface, tz = tenant.interface, tenant.time_zone
    pid, pv1 = message.required("PID"), message.required("PV1")
    stay_id = _stay_id(pv1)
    member_id = _member_id(pid, interface.member_identifier_type)
    facility_id, program_id = _facility(message, pv1, interface)
    admitted = _local_date_hour(pv1, 44, "admit date/time", tz)
    principal, admitting, others = _diagnoses(message)
    drg = message.first("DRG")
    admission = Admission(
        admit_date=admitted.day,
        admit_hour=admitted.hour if admitted.hour is not None else 0,
        admission_type=AdmissionType(
            _mapped(
                _required(pv1, 4, "admission type"),
                "PV1-4",
                DEFAULT_ADMISSION_TYPES,
                interface.admission_types,
            )
        ),
        admission_source=_mapped(
            _required(pv1, 14, "admit source"),
            "PV1-14",
            DEFAULT_ADMISSION_SOURCES,
            interface.admission_sources,
        ),
        principal_diagnosis=principal,
        admitting_diagnosis=admitting,
        other_diagnoses=others,
        drg=(drg.value(1) or None) if drg else None,
        procedures=_procedures(message, tz),
    )
    return StayEvent(
        STAY_ADMITTED_V1,
        stay_id,
        EhrStayAdmitted(
            stay_id=stay_id,
            member_id=member_id,
            facility_id=facility_id,
            program_id=program_id,
            admission=admission,
        ),
    )


def _discharged(message: Hl7Message, tenant: SenderTenant) -> StayEvent:
    pv1 = message.required("PV1")
    stay_id = _stay_id(pv1)
    discharged = _local_date_hour(pv1, 45, "discharge date/time", tenant.time_zone)
    status = _mapped(
        _required(pv1, 36, "discharge disposition"),
        "PV1-36",
        DEFAULT_DISCHARGE_DISPOSITIONS,
        tenant.interface.discharge_dispositions,
    )
    return StayEvent(
        STAY_DISCHARGED_V1,
        stay_id,
        EhrStayDischarged(
            stay_id=stay_id,
            discharge_date=discharged.day,
            discharge_hour=discharged.hour if discharged.hour is not None else 0,
            patient_status=status,
        ),
    )


def _leave_started(message: Hl7Message, tenant: SenderTenant) -> StayEvent:
    stay_id = _stay_id(message.required("PV1"))
    start = _event_moment(message, "leave start", tenant.time_zone)
    reason_code = message.required("EVN").value(4)
    reason = tenant.interface.leave_reasons.get(reason_code, LeaveReason.OTHER)
    expected: date | None = None
    pv2 = message.first("PV2")
    if pv2 is not None and pv2.value(47):
        expected = _local_date(pv2, 47, "expected LOA return", tenant.time_zone)
        # A plan only (the leave stays open until the A22); a plan not after the start
        # would not describe one, and is not worth refusing the leave for.
        expected = expected if expected > start else None
    return StayEvent(
        STAY_LEAVE_STARTED_V1,
        stay_id,
        EhrStayLeaveStarted(
            stay_id=stay_id,
            leave_id=leave_id_for(stay_id, start),
            start_date=start,
            reason=reason,
            expected_return_date=expected,
        ),
    )


def _leave_ended(message: Hl7Message, tenant: SenderTenant) -> LeaveStayEvent:
    stay_id = _stay_id(message.required("PV1"))
    back = _event_moment(message, "return from leave", tenant.time_zone)

    def build(leave: Leave) -> EventData:
        return EhrStayLeaveEnded(stay_id=stay_id, leave_id=leave.leave_id, return_date=back)

    return LeaveStayEvent(
        STAY_LEAVE_ENDED_V1, stay_id, LeaveReference(LeaveSelector.RETURNING, back), build
    )


def _corrected_at(message: Hl7Message, tenant: SenderTenant, received_at: datetime) -> datetime:
    evn = message.first("EVN")
    recorded = _aware(evn.value(2), tenant.time_zone) if evn is not None else None
    return recorded or received_at


def _correction(
    message: Hl7Message, tenant: SenderTenant, received_at: datetime
) -> StayEvent | LeaveStayEvent:
    stay_id = _stay_id(message.required("PV1"))
    corrected_at = _corrected_at(message, tenant, received_at)
    trigger = message.header.trigger_event
    if trigger == "A11":
        return StayEvent(
            STAY_CORRECTED_V1,
            stay_id,
            EhrStayCorrected(
                stay_id=stay_id,
                correction=AdmissionEnteredInError(
                    kind=StayCorrectionKind.ADMISSION_ENTERED_IN_ERROR
                ),
                corrected_at=corrected_at,
            ),
        )
    if trigger == "A13":
        return StayEvent(
            STAY_CORRECTED_V1,
            stay_id,
            EhrStayCorrected(
                stay_id=stay_id,
                correction=DischargeUndone(kind=StayCorrectionKind.DISCHARGE_UNDONE),
                corrected_at=corrected_at,
            ),
        )
    evn = message.required("EVN")
    on = _local_time(evn.value(6), "EVN-6", tenant.time_zone).day if evn.value(6) else None
    if trigger == "A52":

        def cancelled(leave: Leave) -> EventData:
            return EhrStayCorrected(
                stay_id=stay_id,
                correction=LeaveCancelled(
                    kind=StayCorrectionKind.LEAVE_CANCELLED, leave_id=leave.leave_id
                ),
                corrected_at=corrected_at,
            )

        return LeaveStayEvent(
            STAY_CORRECTED_V1, stay_id, LeaveReference(LeaveSelector.CANCELLING, on), cancelled
        )

    def reopened(leave: Leave) -> EventData:
        return EhrStayCorrected(
            stay_id=stay_id,
            correction=LeaveChanged(
                kind=StayCorrectionKind.LEAVE_CHANGED,
                leave=LeaveOfAbsence(
                    leave_id=leave.leave_id,
                    start_date=leave.start_date,
                    return_date=None,
                    reason=leave.reason,
                ),
            ),
            corrected_at=corrected_at,
        )

    return LeaveStayEvent(
        STAY_CORRECTED_V1, stay_id, LeaveReference(LeaveSelector.REOPENING, on), reopened
    )


def map_adt(
    message: Hl7Message, tenant: SenderTenant, *, received_at: datetime
) -> StayEvent | LeaveStayEvent:
    """The EHR stay event ``message`` tells; refused (AR) when the message is not an ADT
    event this feed takes, lacks a field the event needs, or holds a value the contract
    refuses (no value is echoed: they may be PHI)."""
    header = message.header
    trigger = header.trigger_event
    if header.message_code != "ADT":
        raise AdtRefusal(
            AckCode.REJECT,
            HL7_UNSUPPORTED_MESSAGE,
            f"message type {header.message_code!r} is not taken (ADT only)",
            condition=UNSUPPORTED_MESSAGE_TYPE,
            location="MSH-9",
        )
    if trigger not in _HANDLED_TRIGGERS or (
        trigger in _ADMIT_TRIGGERS and trigger not in tenant.interface.admit_events
    ):
        raise AdtRefusal(
            AckCode.REJECT,
            HL7_UNSUPPORTED_MESSAGE,
            f"ADT^{trigger} is not taken for this tenant",
            condition=UNSUPPORTED_EVENT_CODE,
            location="MSH-9",
        )
    try:
        if trigger in _ADMIT_TRIGGERS:
            return _admitted(message, tenant)
        if trigger == "A03":
            return _discharged(message, tenant)
        if trigger == "A21":
            return _leave_started(message, tenant)
        if trigger == "A22":
            return _leave_ended(message, tenant)
        return _correction(message, tenant, received_at)
    except ValidationError as exc:
        raise refusal_of(exc) from exc


def refusal_of(exc: ValidationError) -> AdtRefusal:
    """A contract's refusal of a mapped value, as an AR naming the fields (not values)."""
    problems = "; ".join(f"{e['loc']}: {e['msg']}" for e in safe_validation_errors(exc)[:5])
    return AdtRefusal(
        AckCode.REJECT,
        HL7_INVALID_FIELD,
        f"the message does not make a valid {exc.title}: {problems}",
        condition=DATA_TYPE_ERROR,
    )
