"""The console's own logic: summaries, form checks, what a forced change voids."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from console import views


def test_attendance_summary_names_the_statuses_held_in_order() -> None:
    counts = {"SCHEDULED": 1, "ABSENT": 1, "ATTENDED": 3, "LATE": 0, "LEFT_EARLY": 0}
    assert views.attendance_summary(counts) == "3 attended, 1 absent, 1 scheduled"
    assert views.attendance_summary({}) == "no participants"
    assert views.attendance_summary({"LATE": 2, "LEFT_EARLY": 1}) == "2 late, 1 left early"


def test_preview_state_and_issue_meanings() -> None:
    assert views.preview_state(None) == "unavailable"
    assert views.preview_state({"blocks_billing": True, "issues": [{}]}) == "blocked"
    assert views.preview_state({"blocks_billing": False, "issues": [{}]}) == "warnings"
    assert views.preview_state({"blocks_billing": False, "issues": []}) == "clean"
    assert "unmarked" in views.issue_meaning("GROUP_UNATTENDED_BILLED")
    assert views.issue_meaning("SOMETHING_NEW", "as the API says") == "as the API says"


def test_force_consequence_names_the_rows_live_charges_and_their_claims() -> None:
    charges: list[dict[str, Any]] = [
        {"charge_id": "ch-1", "member_id": "m-1", "status": "ON_CLAIM", "claim_id": "cl-1"},
        {"charge_id": "ch-2", "member_id": "m-1", "status": "VOID", "claim_id": None},
        {"charge_id": "ch-3", "member_id": "m-2", "status": "READY", "claim_id": None},
    ]
    claims = [{"claim_id": "cl-1", "status": "SUBMITTED"}]
    one = views.force_consequence("m-1", charges, claims)
    assert one.charge_ids == ["ch-1"] and one.claim_ids == ["cl-1"]
    assert one.submitted_claims == ["cl-1"]
    assert "voids 1 charge(s)" in one.text and "void/replace" in one.text
    whole = views.force_consequence(None, charges, claims)
    assert whole.charge_ids == ["ch-1", "ch-3"]
    nothing = views.force_consequence("m-9", charges, [])
    assert "reopens the session" in nothing.text


def test_period_and_month_cycles_of_selected_days() -> None:
    assert views.period_of(["2026-01-12", "2026-01-10", "2026-01-31"]) == (
        date(2026, 1, 10),
        date(2026, 1, 31),
    )
    with pytest.raises(ValueError):
        views.period_of([])
    days = [date(2026, 1, 10), date(2026, 1, 31), date(2026, 2, 1), date(2026, 2, 2)]
    assert views.cycles_of(days) == [
        (date(2026, 1, 10), date(2026, 1, 31)),
        (date(2026, 2, 1), date(2026, 2, 2)),
    ]


def test_per_diem_rows_from_claim_details_in_period_order() -> None:
    claims: list[dict[str, Any]] = [
        {
            "claim_id": "c2",
            "period_from": "2026-02-01",
            "period_to": "2026-02-03",
            "status": "SUBMITTED",
            "per_diem": {"days_in_period": 2, "covered_days": 2, "non_covered_days": 0},
        },
        {
            "claim_id": "c1",
            "period_from": "2026-01-10",
            "period_to": "2026-01-31",
            "status": "ACCEPTED",
            "per_diem": {"days_in_period": 22, "covered_days": 19, "non_covered_days": 3},
        },
        {"claim_id": "p", "period_from": "2026-01-01", "period_to": "2026-01-01"},
    ]
    rows = views.per_diem_rows(claims)
    assert [r.claim_id for r in rows] == ["c1", "c2"]
    assert rows[0].balanced and rows[0].covered_days == 19


def test_institutional_edit_sends_only_filled_fields_and_checks_them() -> None:
    ok = views.institutional_edit(
        {
            "drg": "885",
            "principal_diagnosis": "f33.2",
            "covered_days": "19",
            "non_covered_days": "3",
            "admission_hour": "14",
        },
        22,
    )
    assert ok.errors == []
    assert ok.body == {
        "drg": "885",
        "principal_diagnosis": "F332",
        "covered_days": 19,
        "non_covered_days": 3,
        "admission_hour": 14,
    }
    bad = views.institutional_edit(
        {
            "drg": "88",
            "covered_days": "10",
            "non_covered_days": "3",
            "admission_hour": "25",
            "admission_type": "7",
        },
        22,
    )
    assert any("DRG" in e for e in bad.errors)
    assert any("must equal the days in the period (22)" in e for e in bad.errors)
    assert any("Admit hour" in e for e in bad.errors)
    assert any("Admit type" in e for e in bad.errors)
    assert views.institutional_edit({}, 22).errors == ["Change at least one field."]


def test_leave_and_discharge_forms() -> None:
    good = views.leave_body(
        {"start_date": "2026-01-20", "return_date": "2026-01-23", "reason": "THERAPEUTIC"},
        with_id=True,
    )
    assert good.errors == [] and good.body["return_date"] == "2026-01-23"
    backwards = views.leave_body(
        {"start_date": "2026-01-20", "return_date": "2026-01-19"}, with_id=False
    )
    assert backwards.errors
    assert views.leave_body({"start_date": "x"}, with_id=False).errors
    assert views.discharge_body(
        {"discharge_date": "2026-02-03", "discharge_hour": "10", "patient_status": "01"}
    ).body == {"discharge_date": "2026-02-03", "discharge_hour": 10, "patient_status": "01"}
    assert len(views.discharge_body({"discharge_date": ""}).errors) == 3


def test_ids_in_filters_and_times() -> None:
    assert views.clean_id(" m-1 ") == "m-1"
    assert views.clean_id("") is None
    with pytest.raises(ValueError):
        views.clean_id("Jane Doe")
    assert views.short_time("09:00:00") == "09:00"


def test_landing_page_is_the_first_page_the_scopes_can_read() -> None:
    assert views.landing_page(["clinical.group-session.read"]) == "/group-sessions"
    assert views.landing_page(["billing.claim.read"]) == "/charges"


def test_void_charges_are_listed_only_on_demand() -> None:
    rows = [{"charge_id": "a", "status": "READY"}, {"charge_id": "b", "status": "VOID"}]
    assert [c["charge_id"] for c in views.listed(rows, False)] == ["a"]
    assert len(views.listed(rows, True)) == 2


def test_acknowledgment_codes_read_with_their_meaning() -> None:
    assert views.ack_code("A") == "A (accepted)"
    assert views.ack_code("R") == "R (rejected)"
    assert views.ack_code(None) == "\u2014"
    assert views.ack_code("Q") == "Q"
