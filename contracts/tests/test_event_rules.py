"""Field and cross-field rules of the event data models."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from contracts.events import (
    AttendanceMarked,
    AttendanceMarkRejected,
    EhrStayAdmitted,
    EhrStayCorrected,
    EhrStayDischarged,
    FacilityUpserted,
    GroupSessionClosed,
    GroupSessionReopened,
    GroupSessionScheduled,
    LeaveCancelled,
    MemberUpserted,
    ProviderUpserted,
    StayCorrected,
    StayDischarged,
    StayLeaveEnded,
    data_model_for,
)

SAMPLES = Path(__file__).resolve().parents[1] / "samples"


def sample_data(event_type: str) -> dict[str, Any]:
    document = json.loads((SAMPLES / f"{event_type}.json").read_text(encoding="utf-8"))
    data: dict[str, Any] = document["data"]
    return data


def error_locations(model: type[BaseModel], data: dict[str, Any]) -> list[tuple[str | int, ...]]:
    with pytest.raises(ValidationError) as raised:
        model.model_validate(data)
    return [tuple(error["loc"]) for error in raised.value.errors()]


# --------------------------------------------------------------------------- sessions


def test_session_ending_before_it_starts_is_refused() -> None:
    data = sample_data(GroupSessionScheduled.event_type)
    data.update(start_time="10:30:00", end_time="09:00:00")
    assert error_locations(GroupSessionScheduled, data) == [("end_time",)]


def test_session_ending_when_it_starts_is_refused() -> None:
    data = sample_data(GroupSessionScheduled.event_type)
    data.update(start_time="09:00:00", end_time="09:00:00")
    assert error_locations(GroupSessionScheduled, data) == [("end_time",)]


def test_member_twice_on_a_roster_is_refused() -> None:
    data = sample_data(GroupSessionScheduled.event_type)
    data["roster"].append({"member_id": "m-10001"})
    assert error_locations(GroupSessionScheduled, data) == [("roster", 7, "member_id")]


def test_session_date_given_as_a_timestamp_is_refused() -> None:
    data = sample_data(GroupSessionScheduled.event_type)
    data["session_date"] = "2026-03-09T00:00:00Z"
    assert error_locations(GroupSessionScheduled, data) == [("session_date",)]


def test_session_times_with_a_utc_offset_are_refused() -> None:
    data = sample_data(GroupSessionScheduled.event_type)
    data["start_time"] = "09:00:00-05:00"
    assert error_locations(GroupSessionScheduled, data) == [("start_time",)]


def test_a_mark_names_exactly_one_participant_or_supervisor() -> None:
    data = sample_data(AttendanceMarked.event_type)
    assert AttendanceMarked.model_validate(data).member_id == "m-10005"
    both = dict(data, provider_id="prov-ann-jones")
    neither = dict(data, member_id=None)
    assert error_locations(AttendanceMarked, both) == [()]
    assert error_locations(AttendanceMarked, neither) == [()]
    assert AttendanceMarked.model_validate(neither | {"provider_id": "prov-ann-jones"})


def test_a_mark_time_without_offset_is_refused() -> None:
    data = sample_data(AttendanceMarked.event_type)
    data["marked_at"] = "2026-03-09T09:12:30"
    assert error_locations(AttendanceMarked, data) == [("marked_at",)]


def test_closed_session_billable_participants_must_match_the_billable_statuses() -> None:
    data = sample_data(GroupSessionClosed.event_type)
    # LEFT_EARLY member m-10006 listed as billable while the policy was ATTENDED + LATE.
    data["billable_participants"].append({"member_id": "m-10006", "status": "LEFT_EARLY"})
    assert error_locations(GroupSessionClosed, data) == [("billable_participants",)]


def test_closed_session_with_left_early_billable_bills_six() -> None:
    data = sample_data(GroupSessionClosed.event_type)
    data["billable_statuses"] = ["ATTENDED", "LATE", "LEFT_EARLY"]
    data["billable_participants"] = [
        row for row in data["roster"] if row["status"] in data["billable_statuses"]
    ]
    assert len(GroupSessionClosed.model_validate(data).billable_participants) == 6


def test_closed_session_has_no_scheduled_row() -> None:
    data = sample_data(GroupSessionClosed.event_type)
    data["roster"][6]["status"] = "SCHEDULED"
    assert ("roster", 6, "status") in error_locations(GroupSessionClosed, data)


def test_absent_supervisor_cannot_be_listed_present() -> None:
    data = sample_data(GroupSessionClosed.event_type)
    data["supervisors_present"] = ["prov-ann-jones", "prov-raj-patel"]
    assert error_locations(GroupSessionClosed, data) == [("supervisors_present", 1)]


def test_auto_closed_session_names_nobody_as_closer() -> None:
    data = sample_data(GroupSessionClosed.event_type)
    data["closure"] = "AUTO_CLOSED"
    assert error_locations(GroupSessionClosed, data) == [("closed_by",)]
    data["closed_by"] = None
    assert GroupSessionClosed.model_validate(data).closed_by is None


def test_forced_reopen_needs_a_reason() -> None:
    data = sample_data(GroupSessionReopened.event_type)
    data["override_reason"] = None
    assert error_locations(GroupSessionReopened, data) == [("override_reason",)]


def test_illegal_transition_rejection_says_the_current_status() -> None:
    data = sample_data(AttendanceMarkRejected.event_type)
    data["current_status"] = None
    assert error_locations(AttendanceMarkRejected, data) == [("current_status",)]


# --------------------------------------------------------------------------- EHR records


def test_coverage_of_a_dependent_needs_the_subscriber() -> None:
    data = sample_data(MemberUpserted.event_type)
    data["coverages"][1]["subscriber"] = None  # relationship 01 (spouse)
    assert error_locations(MemberUpserted, data) == [("coverages", 1, "subscriber")]


def test_coverage_of_the_subscriber_themself_carries_no_subscriber() -> None:
    data = sample_data(MemberUpserted.event_type)
    data["coverages"][0]["subscriber"] = data["coverages"][1]["subscriber"]
    assert error_locations(MemberUpserted, data) == [("coverages", 0, "subscriber")]


def test_two_primary_coverages_on_the_same_dates_are_refused() -> None:
    data = sample_data(MemberUpserted.event_type)
    data["coverages"][1]["is_primary"] = True  # 2025-06-01..2026-05-31 inside 2025-01-01..open
    assert error_locations(MemberUpserted, data) == [("coverages", 1, "is_primary")]


def test_primary_coverages_one_after_another_are_accepted() -> None:
    data = sample_data(MemberUpserted.event_type)
    data["coverages"][0]["effective_to"] = "2025-05-31"
    data["coverages"][1]["is_primary"] = True
    member = MemberUpserted.model_validate(data)
    assert [coverage.is_primary for coverage in member.coverages] == [True, True]


def test_wrong_npi_check_digit_is_refused() -> None:
    data = sample_data(ProviderUpserted.event_type)
    data["npi"] = "1700000008"
    with pytest.raises(ValidationError) as raised:
        ProviderUpserted.model_validate(data)
    assert [(e["loc"], e["type"]) for e in raised.value.errors()] == [(("npi",), "npi_check_digit")]


def test_unknown_time_zone_is_refused() -> None:
    data = sample_data(FacilityUpserted.event_type)
    data["time_zone"] = "America/Springfield"
    assert error_locations(FacilityUpserted, data) == [("time_zone",)]


def test_zip_plus_four_with_hyphen_is_stored_without_it() -> None:
    data = sample_data(FacilityUpserted.event_type)
    data["address"]["postal_code"] = "62702-0002"
    assert FacilityUpserted.model_validate(data).address.postal_code == "627020002"


def test_diagnosis_codes_with_a_dot_are_stored_without_it() -> None:
    data = sample_data(EhrStayAdmitted.event_type)
    data["admission"].update(principal_diagnosis="f33.2", other_diagnoses=["F41.1", "F10.20"])
    admission = EhrStayAdmitted.model_validate(data).admission
    assert admission.principal_diagnosis == "F332"
    assert admission.other_diagnoses == ["F411", "F1020"]


@pytest.mark.parametrize("code", ["F3", "F33.", "F33.12345", "3F3", "F.331"])
def test_malformed_diagnosis_codes_are_refused(code: str) -> None:
    data = sample_data(EhrStayAdmitted.event_type)
    data["admission"]["principal_diagnosis"] = code
    assert error_locations(EhrStayAdmitted, data) == [("admission", "principal_diagnosis")]


def test_other_diagnoses_do_not_repeat_the_principal() -> None:
    data = sample_data(EhrStayAdmitted.event_type)
    data["admission"]["other_diagnoses"] = ["F41.1", "F33.2"]
    assert error_locations(EhrStayAdmitted, data) == [("admission", "other_diagnoses", 1)]


def test_procedure_before_admission_is_refused() -> None:
    data = sample_data(EhrStayAdmitted.event_type)
    data["admission"]["procedures"][0]["performed_on"] = "2026-01-09"
    assert error_locations(EhrStayAdmitted, data) == [
        ("admission", "procedures", 0, "performed_on")
    ]


def test_admit_hour_24_is_refused() -> None:
    data = sample_data(EhrStayAdmitted.event_type)
    data["admission"]["admit_hour"] = 24
    assert error_locations(EhrStayAdmitted, data) == [("admission", "admit_hour")]


def test_discharge_status_30_still_a_patient_is_refused() -> None:
    data = sample_data(EhrStayDischarged.event_type)
    data["patient_status"] = "30"
    assert error_locations(EhrStayDischarged, data) == [("patient_status",)]


def test_stay_correction_is_told_by_its_kind() -> None:
    data = sample_data(EhrStayCorrected.event_type)
    data["correction"] = {"kind": "LEAVE_CANCELLED", "leave_id": "loa-2026-0001-1"}
    correction = EhrStayCorrected.model_validate(data).correction
    assert isinstance(correction, LeaveCancelled)
    assert correction.leave_id == "loa-2026-0001-1"


def test_stay_correction_of_an_unknown_kind_is_refused() -> None:
    data = sample_data(EhrStayCorrected.event_type)
    data["correction"] = {"kind": "STAY_MERGED"}
    assert error_locations(EhrStayCorrected, data) == [("correction",)]


# --------------------------------------------------------------------------- canonical stays


def test_discharge_before_admission_is_refused() -> None:
    data = sample_data(StayDischarged.event_type)
    data["discharge"]["discharge_date"] = "2026-01-09"
    data["leaves"] = []
    assert error_locations(StayDischarged, data) == [("discharge", "discharge_date")]


def test_same_day_admission_and_discharge_is_accepted() -> None:
    data = sample_data(StayDischarged.event_type)
    data["discharge"]["discharge_date"] = "2026-01-10"
    data["leaves"] = []
    assert StayDischarged.model_validate(data).discharge is not None


def test_overlapping_leaves_are_refused() -> None:
    data = sample_data(StayDischarged.event_type)
    data["leaves"].append(
        {"leave_id": "loa-2", "start_date": "2026-01-22", "return_date": "2026-01-25"}
    )
    assert error_locations(StayDischarged, data) == [("leaves", 1, "start_date")]


def test_a_leave_may_start_on_the_day_the_previous_one_returned() -> None:
    data = sample_data(StayDischarged.event_type)
    data["leaves"].append(
        {"leave_id": "loa-2", "start_date": "2026-01-23", "return_date": "2026-01-25"}
    )
    assert len(StayDischarged.model_validate(data).leaves) == 2


def test_leave_returning_the_day_it_started_is_refused() -> None:
    data = sample_data(StayDischarged.event_type)
    data["leaves"][0]["return_date"] = "2026-01-20"
    assert error_locations(StayDischarged, data) == [("leaves", 0, "return_date")]


def test_discharged_stay_has_no_open_leave() -> None:
    data = sample_data(StayDischarged.event_type)
    data["leaves"][0]["return_date"] = None
    assert error_locations(StayDischarged, data) == [("leaves", 0, "return_date")]


def test_leave_ended_names_a_leave_with_a_return_date() -> None:
    data = sample_data(StayLeaveEnded.event_type)
    data["leave_id"] = "loa-unknown"
    assert error_locations(StayLeaveEnded, data) == [("leave_id",)]


def test_leave_correction_names_its_leave() -> None:
    data = sample_data(StayCorrected.event_type)
    data["correction_kind"] = "LEAVE_CHANGED"
    assert error_locations(StayCorrected, data) == [("leave_id",)]
    data["leave_id"] = "loa-2026-0001-1"
    assert StayCorrected.model_validate(data).leave_id == "loa-2026-0001-1"


def test_undone_discharge_leaves_an_admitted_stay() -> None:
    data = sample_data(StayCorrected.event_type)
    data["correction_kind"] = "DISCHARGE_UNDONE"
    assert error_locations(StayCorrected, data) == [("discharge",)]
    data.update(discharge=None, status="ADMITTED")
    assert StayCorrected.model_validate(data).status == "ADMITTED"


def test_admission_entered_in_error_voids_the_stay() -> None:
    data = sample_data(StayCorrected.event_type)
    data["correction_kind"] = "ADMISSION_ENTERED_IN_ERROR"
    assert error_locations(StayCorrected, data) == [("status",)]
    data["status"] = "ENTERED_IN_ERROR"
    assert StayCorrected.model_validate(data).affected_from == date(2026, 1, 10)


# --------------------------------------------------------------------------- compatibility


@pytest.mark.parametrize(
    "event_type", [GroupSessionScheduled.event_type, StayDischarged.event_type]
)
def test_an_optional_field_added_within_the_version_is_accepted(event_type: str) -> None:
    model = data_model_for(event_type)
    assert model is not None
    data = sample_data(event_type)
    newer = dict(data, field_added_later={"anything": 1})
    assert model.model_validate(newer) == model.model_validate(data)


def test_event_data_is_immutable() -> None:
    closed = GroupSessionClosed.model_validate(sample_data(GroupSessionClosed.event_type))
    with pytest.raises(ValidationError):
        closed.session_id = "other"  # type: ignore[misc]
