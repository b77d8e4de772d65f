"""HL7 v2 ADT messages mapped to the EHR feed's stay events (issue #7), and their
acknowledgments. SPEC 12 vector 2's stay: visit V2601 admitted 2026-01-10 14:30, leave
01-20 back 01-23, discharged home 2026-02-03 10:15; tenant demo-bh (America/Chicago)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import hl7
import pytest
import yaml

from contracts.codes import LeaveReason
from contracts.events import (
    STAY_ADMITTED_V1,
    STAY_CORRECTED_V1,
    STAY_DISCHARGED_V1,
    STAY_LEAVE_ENDED_V1,
    STAY_LEAVE_STARTED_V1,
)
from contracts.events.ehr import (
    EhrStayAdmitted,
    EhrStayCorrected,
    EhrStayDischarged,
    EhrStayLeaveEnded,
    EhrStayLeaveStarted,
)
from contracts.events.stay_components import StayCorrectionKind
from contracts.tenant import Hl7Interface, TenantConfig, TenantConfigError, parse_tenant_config
from stays.domain.leave_reference import LeaveSelector
from stays.domain.model import Leave
from stays.entrypoints.adt_feed.mapping import (
    LeaveStayEvent,
    SenderDirectory,
    SenderTenant,
    StayEvent,
    leave_id_for,
    map_adt,
)
from stays.entrypoints.adt_feed.messages import (
    AckCode,
    AdtRefusal,
    Receiver,
    acknowledgment,
    parse_message,
)

from .adt_samples import PID, a01, a03, a21, a22, cancel, message, msh, pv1

DEMO_BH = Path(__file__).parents[4] / "contracts" / "samples" / "tenants" / "demo-bh.yaml"
RECEIVED = datetime(2026, 2, 5, 21, 20, tzinfo=UTC)
VISIT = "V2601"


def demo_config(**hl7_changes: Any) -> TenantConfig:
    document = yaml.safe_load(DEMO_BH.read_text())
    document["hl7"].update(hl7_changes)
    return parse_tenant_config(yaml.safe_dump(document), source=DEMO_BH)


def tenant(**hl7_changes: Any) -> SenderTenant:
    config = demo_config(**hl7_changes)
    assert config.hl7 is not None
    return SenderTenant(config.tenant_id, config.hl7, ZoneInfo(config.time_zone))


def mapped(text: str, **hl7_changes: Any) -> StayEvent | LeaveStayEvent:
    return map_adt(parse_message(text), tenant(**hl7_changes), received_at=RECEIVED)


def stay_event(text: str, **hl7_changes: Any) -> StayEvent:
    event = mapped(text, **hl7_changes)
    assert isinstance(event, StayEvent)
    return event


def refusal(text: str, **hl7_changes: Any) -> AdtRefusal:
    with pytest.raises(AdtRefusal) as raised:
        mapped(text, **hl7_changes)
    return raised.value


def leave(start: str, back: str | None = None) -> Leave:
    return Leave(
        leave_id=leave_id_for(VISIT, date.fromisoformat(start)),
        start_date=date.fromisoformat(start),
        return_date=date.fromisoformat(back) if back else None,
        reason=LeaveReason.THERAPEUTIC,
    )


# -- A01 admit ---------------------------------------------------------------------------


def test_a01_admits_the_visit_number_as_the_stay_with_the_mr_identifier_as_member() -> None:
    event = mapped(a01(VISIT))
    assert isinstance(event, StayEvent) and event.event_type == STAY_ADMITTED_V1
    data = event.data
    assert isinstance(data, EhrStayAdmitted)
    assert (data.stay_id, data.member_id) == ("V2601", "MRN4471")
    # PV1-3.4 SPRINGFIELD_RES is demo-bh's residential facility.
    assert (data.facility_id, data.program_id) == ("fac-springfield-res", "residential")


def test_a01_admission_comes_from_pv1_and_dg1() -> None:
    event = stay_event(a01(VISIT))
    assert isinstance(event.data, EhrStayAdmitted)
    admission = event.data.admission
    assert (admission.admit_date, admission.admit_hour) == (date(2026, 1, 10), 14)
    # PV1-4 R (routine) is NUBC 3 elective; PV1-14 1 is NUBC point of origin 1.
    assert (admission.admission_type.value, admission.admission_source) == ("3", "1")
    # DG1-15 priority 1 is the principal, DG1-6 A the admitting, the rest the others.
    assert admission.principal_diagnosis == "F332"
    assert admission.admitting_diagnosis == "F332"
    assert admission.other_diagnoses == ["F411"]


def test_an_admit_time_with_a_utc_offset_is_read_in_the_tenant_time_zone() -> None:
    # 03:30 UTC on 01-11 is 21:30 on 01-10 in Chicago.
    event = stay_event(a01(VISIT, f44="20260111033000+0000"))
    assert isinstance(event.data, EhrStayAdmitted)
    assert (event.data.admission.admit_date, event.data.admission.admit_hour) == (
        date(2026, 1, 10),
        21,
    )


def test_an_admission_type_from_the_tenant_table_overrides_the_default() -> None:
    event = stay_event(a01(VISIT, f4="R"), admission_types={"R": "2"})
    assert isinstance(event.data, EhrStayAdmitted)
    assert event.data.admission.admission_type.value == "2"


def test_a04_admits_only_where_the_tenant_enables_it() -> None:
    a04 = a01(VISIT).replace("ADT^A01^ADT_A01", "ADT^A04^ADT_A01")
    refused = refusal(a04)
    assert (refused.ack, refused.code) == (AckCode.REJECT, "HL7_UNSUPPORTED_MESSAGE")
    assert mapped(a04, admit_events=["A01", "A04"]).event_type == STAY_ADMITTED_V1


def test_an_admission_at_an_unconfigured_facility_is_refused_with_its_code() -> None:
    refused = refusal(a01(VISIT, f3="X^1^A^ELSEWHERE"))
    assert (refused.ack, refused.code, refused.location) == (
        AckCode.REJECT,
        "HL7_FACILITY_NOT_MAPPED",
        "PV1-3",
    )


def test_an_invalid_diagnosis_is_refused_without_echoing_it() -> None:
    text = a01(VISIT).replace("F41.1^Generalized", "ZZ^Generalized")
    refused = refusal(text)
    assert (refused.ack, refused.code) == (AckCode.REJECT, "HL7_INVALID_FIELD")
    assert "other_diagnoses" in refused.text and "ZZ" not in refused.text


def test_an_admit_without_the_hour_is_refused() -> None:
    refused = refusal(a01(VISIT, f44="20260110"))
    assert (refused.code, refused.location) == ("HL7_INVALID_FIELD", "PV1-44")


def test_a_message_without_a_visit_number_is_refused_as_missing_a_required_field() -> None:
    refused = refusal(a01(""))
    assert (refused.ack, refused.code, refused.location) == (
        AckCode.REJECT,
        "HL7_REQUIRED_FIELD_MISSING",
        "PV1-19",
    )
    assert refused.condition == "101"


# -- A03 discharge -----------------------------------------------------------------------


def test_a03_discharges_on_pv1_45_with_pv1_36_as_the_nubc_status() -> None:
    event = mapped(a03(VISIT))
    assert isinstance(event, StayEvent) and event.event_type == STAY_DISCHARGED_V1
    assert event.data == EhrStayDischarged(
        stay_id="V2601",
        discharge_date=date(2026, 2, 3),
        discharge_hour=10,
        patient_status="01",
    )


def test_a_discharge_disposition_maps_through_the_tenant_table() -> None:
    # demo-bh maps AMA to 07 (left against medical advice).
    event = stay_event(a03(VISIT, disposition="AMA"))
    assert isinstance(event.data, EhrStayDischarged)
    assert event.data.patient_status == "07"


def test_a_one_digit_disposition_is_the_two_digit_nubc_status() -> None:
    event = stay_event(a03(VISIT, disposition="1"))
    assert isinstance(event.data, EhrStayDischarged)
    assert event.data.patient_status == "01"


def test_an_unmapped_disposition_is_refused_with_its_code() -> None:
    refused = refusal(a03(VISIT, disposition="XYZ"))
    assert (refused.ack, refused.code, refused.location) == (
        AckCode.REJECT,
        "HL7_CODE_NOT_MAPPED",
        "PV1-36",
    )


def test_still_a_patient_is_no_discharge_status_in_the_default_table() -> None:
    refused = refusal(a03(VISIT, disposition="30"))
    assert refused.code == "HL7_CODE_NOT_MAPPED"


def test_a_tenant_table_mapping_to_still_a_patient_is_refused_by_the_contract() -> None:
    refused = refusal(a03(VISIT, disposition="STAY"), discharge_dispositions={"STAY": "30"})
    assert refused.code == "HL7_INVALID_FIELD"


# -- A21 / A22 leaves --------------------------------------------------------------------


def test_a21_starts_a_leave_on_evn_6_keyed_by_the_stay_and_its_start() -> None:
    event = mapped(a21(VISIT), leave_reasons={"01": "THERAPEUTIC"})
    assert isinstance(event, StayEvent) and event.event_type == STAY_LEAVE_STARTED_V1
    assert event.data == EhrStayLeaveStarted(
        stay_id="V2601",
        leave_id="V2601-loa-20260120",
        start_date=date(2026, 1, 20),
        reason=LeaveReason.THERAPEUTIC,
        expected_return_date=date(2026, 1, 23),
    )


def test_a21_without_a_mapped_reason_is_an_other_leave() -> None:
    event = stay_event(a21(VISIT))
    assert isinstance(event.data, EhrStayLeaveStarted)
    assert event.data.reason is LeaveReason.OTHER


def test_a22_ends_the_leave_the_stay_has_open() -> None:
    event = mapped(a22(VISIT))
    assert isinstance(event, LeaveStayEvent) and event.event_type == STAY_LEAVE_ENDED_V1
    assert (event.reference.selector, event.reference.on) == (
        LeaveSelector.RETURNING,
        date(2026, 1, 23),
    )
    assert event.build(leave("2026-01-20")) == EhrStayLeaveEnded(
        stay_id="V2601", leave_id="V2601-loa-20260120", return_date=date(2026, 1, 23)
    )


def test_a_leave_message_without_evn_is_refused() -> None:
    refused = refusal(message(msh("A21", "M1"), PID, pv1(VISIT)))
    assert (refused.ack, refused.code, refused.location) == (
        AckCode.REJECT,
        "HL7_REQUIRED_FIELD_MISSING",
        "EVN",
    )


# -- cancels -----------------------------------------------------------------------------


def test_a11_enters_the_admission_in_error() -> None:
    event = mapped(cancel("A11", VISIT, "M11"))
    assert isinstance(event, StayEvent) and event.event_type == STAY_CORRECTED_V1
    assert isinstance(event.data, EhrStayCorrected)
    assert event.data.correction.kind is StayCorrectionKind.ADMISSION_ENTERED_IN_ERROR
    # EVN-2 15:20 in Chicago.
    assert event.data.corrected_at == datetime(2026, 2, 5, 21, 20, tzinfo=UTC)


def test_a13_undoes_the_discharge() -> None:
    event = stay_event(cancel("A13", VISIT, "M13"))
    assert isinstance(event.data, EhrStayCorrected)
    assert event.data.correction.kind is StayCorrectionKind.DISCHARGE_UNDONE


def test_a52_cancels_the_leave_starting_on_evn_6() -> None:
    event = mapped(cancel("A52", VISIT, "M52", occurred="20260120091500"))
    assert isinstance(event, LeaveStayEvent)
    assert (event.reference.selector, event.reference.on) == (
        LeaveSelector.CANCELLING,
        date(2026, 1, 20),
    )
    data = event.build(leave("2026-01-20", "2026-01-23"))
    assert isinstance(data, EhrStayCorrected)
    assert data.correction.model_dump(mode="json") == {
        "kind": "LEAVE_CANCELLED",
        "leave_id": "V2601-loa-20260120",
    }


def test_a53_reopens_the_ended_leave() -> None:
    event = mapped(cancel("A53", VISIT, "M53"))
    assert isinstance(event, LeaveStayEvent)
    assert (event.reference.selector, event.reference.on) == (LeaveSelector.REOPENING, None)
    data = event.build(leave("2026-01-20", "2026-01-23"))
    assert isinstance(data, EhrStayCorrected)
    assert data.correction.model_dump(mode="json") == {
        "kind": "LEAVE_CHANGED",
        "leave": {
            "leave_id": "V2601-loa-20260120",
            "start_date": "2026-01-20",
            "return_date": None,
            "reason": "THERAPEUTIC",
        },
    }


# -- what is not taken -------------------------------------------------------------------


def test_garbage_is_refused_as_unparseable() -> None:
    with pytest.raises(AdtRefusal) as raised:
        parse_message("this is not HL7")
    assert (raised.value.ack, raised.value.code) == (AckCode.REJECT, "HL7_UNPARSEABLE")


def test_an_adt_event_the_feed_does_not_take_is_refused() -> None:
    refused = refusal(a01(VISIT).replace("ADT^A01^ADT_A01", "ADT^A08^ADT_A01"))
    assert (refused.code, refused.condition) == ("HL7_UNSUPPORTED_MESSAGE", "201")


def test_a_message_other_than_adt_is_refused() -> None:
    refused = refusal(a01(VISIT).replace("ADT^A01^ADT_A01", "ORU^R01^ORU_R01"))
    assert (refused.code, refused.condition) == ("HL7_UNSUPPORTED_MESSAGE", "200")


def test_an_unmapped_sender_is_refused_with_its_code() -> None:
    senders = SenderDirectory.from_tenants([demo_config()])
    with pytest.raises(AdtRefusal) as raised:
        senders.tenant_of("OTHER_EHR")
    assert (raised.value.ack, raised.value.code, raised.value.location) == (
        AckCode.REJECT,
        "HL7_SENDER_NOT_MAPPED",
        "MSH-4",
    )
    assert senders.tenant_of("HARBOR_EHR").tenant_id == "demo-bh"


def test_a_sender_configured_for_two_tenants_fails_the_start() -> None:
    other = demo_config().model_copy(update={"tenant_id": "tenant-b"})
    with pytest.raises(ValueError, match="HARBOR_EHR"):
        SenderDirectory.from_tenants([demo_config(), other])


def test_the_hl7_facilities_must_name_an_institutional_program() -> None:
    with pytest.raises(TenantConfigError, match="no INSTITUTIONAL program 'group-therapy'"):
        demo_config(
            facilities=[{"code": "X", "facility_id": "fac-x", "program_id": "group-therapy"}]
        )


def test_the_hl7_section_takes_a01_only_by_default() -> None:
    interface = Hl7Interface(
        sending_facilities=["A"],
        facilities=[{"code": "A", "facility_id": "f", "program_id": "residential"}],
    )
    assert interface.admit_events == ["A01"]


# -- acknowledgments ---------------------------------------------------------------------


def test_an_applied_message_is_acknowledged_aa_with_its_control_id() -> None:
    header = parse_message(a01(VISIT, "MSG0001")).header
    ack = hl7.parse(acknowledgment(header, AckCode.ACCEPT, receiver=Receiver()))
    assert str(ack.segment("MSH")[9]) == "ACK^A01^ACK"
    # The ACK goes back to the sender: MSH-5/6 are MSH-3/4 of the message.
    assert (str(ack.segment("MSH")[5]), str(ack.segment("MSH")[6])) == ("EPICADT", "HARBOR_EHR")
    assert str(ack.segment("MSA")) == "MSA|AA|MSG0001"


def test_a_refused_message_is_acknowledged_with_its_code_in_msa_3_and_err() -> None:
    header = parse_message(a21(VISIT, "MSG0002")).header
    refused = AdtRefusal(
        AckCode.ERROR, "STAY_UNKNOWN", "no stay V2601", condition="204", location="PV1-19"
    )
    text = acknowledgment(header, AckCode.ERROR, receiver=Receiver(), refusal=refused)
    ack = hl7.parse(text)
    assert str(ack.segment("MSA")) == "MSA|AE|MSG0002|STAY_UNKNOWN: no stay V2601"
    assert str(ack.segment("ERR")) == (
        "ERR||PV1^1^19|204^Unknown key identifier^HL70357|E|STAY_UNKNOWN^no stay V2601^L"
    )


def test_an_unreadable_frame_is_acknowledged_ar_with_an_empty_control_id() -> None:
    refused = AdtRefusal(AckCode.REJECT, "HL7_UNPARSEABLE", "not an HL7 v2 message")
    ack = hl7.parse(acknowledgment(None, AckCode.REJECT, receiver=Receiver(), refusal=refused))
    assert str(ack.segment("MSA")).startswith("MSA|AR||HL7_UNPARSEABLE")


def test_delimiters_in_an_error_text_are_escaped() -> None:
    header = parse_message(a01(VISIT)).header
    refused = AdtRefusal(AckCode.ERROR, "X", "a|b^c")
    text = acknowledgment(header, AckCode.ERROR, receiver=Receiver(), refusal=refused)
    assert "X: a\\F\\b\\S\\c" in text
