"""Finalize, close by itself, lock and force on the GroupSession aggregate."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from group_billing import (
    Band,
    GroupBillingEvaluation,
    GroupSessionFacts,
    evaluate_group_session,
)

from attendance.domain.errors import (
    BLOCKING_ISSUES,
    CLAIM_SUBMITTED,
    CLOSE_SEQUENCE_UNKNOWN,
    FORCE_REASON_REQUIRED,
    ILLEGAL_TRANSITION,
    LOCKED,
    NOT_ACKNOWLEDGEABLE,
    SESSION_CANCELLED,
    SESSION_CLOSED,
    UNMARKED_PARTICIPANTS,
    WARNINGS_NOT_ACKNOWLEDGED,
)
from attendance.domain.model import (
    ClaimHold,
    Closure,
    GroupSession,
    RosterRole,
    SessionPlan,
    SessionStatus,
)
from attendance.domain.roster import AttendanceStatus as S
from common.errors import DomainError

AT = datetime(2026, 3, 9, 16, 0, tzinfo=UTC)
BANDS = (
    Band("Small", 3, 5, Decimal("50.00")),
    Band("Medium", 6, 10, Decimal("40.00")),
    Band("Large", 11, None, Decimal("30.00")),
)
BILLABLE = frozenset({S.ATTENDED, S.LATE})


def session(statuses: dict[str, S], supervisor: S = S.ATTENDED) -> GroupSession:
    plan = SessionPlan.of(
        facility_id="fac-1",
        program_id="group-therapy",
        session_date=date(2026, 3, 9),
        start_time=time(9, 0),
        end_time=time(10, 0),
        group_type="PROCESS_GROUP",
        service_code="90853",
        participants=list(statuses),
        supervisors=["p1"],
    )
    s = GroupSession.schedule(
        tenant_id="t1",
        session_id="gs-1",
        plan=plan,
        actor="feed",
        at=AT,
        initial_statuses=statuses,
    )
    if supervisor is not S.SCHEDULED:
        s.mark_supervisor("p1", supervisor, actor="u", at=AT)
    s.events.clear()
    return s


def evaluate(s: GroupSession, ratio: int | None = None) -> GroupBillingEvaluation:
    return evaluate_group_session(
        GroupSessionFacts(
            participant_statuses=[e.status.value for e in s.participants.values()],
            supervisor_statuses=[e.status.value for e in s.supervisors.values()],
            billable_statuses=frozenset(x.value for x in BILLABLE),
            bands=BANDS,
            max_participants_per_supervisor=ratio,
        )
    )


VECTOR_1 = {
    "m1": S.ATTENDED,
    "m2": S.ATTENDED,
    "m3": S.ATTENDED,
    "m4": S.ATTENDED,
    "m5": S.LATE,
    "m6": S.LEFT_EARLY,
    "m7": S.ABSENT,
}


def closed(statuses: dict[str, S] = VECTOR_1) -> GroupSession:
    s = session(statuses)
    assert s.finalize(evaluate(s), BILLABLE, actor="sup-1", at=AT)
    s.events.clear()
    return s


# -- finalize ----------------------------------------------------------------------------


def test_finalizing_fixes_the_band_and_counts_the_closing() -> None:
    s = session(VECTOR_1)
    assert s.finalize(evaluate(s), BILLABLE, actor="sup-1", at=AT) is True
    assert s.status is SessionStatus.CLOSED
    assert s.close_sequence == 1
    assert s.closing is not None
    assert (s.closing.closure, s.closing.closed_by) == (Closure.FINALIZED, "sup-1")
    assert (s.closing.billable_count, s.closing.band_name, s.closing.band_rate) == (
        5,
        "Small",
        Decimal("50.00"),
    )
    assert s.closing.billable_statuses == (S.ATTENDED, S.LATE)
    assert [e.subject_id for e in s.billable_participants(BILLABLE)] == [
        "m1",
        "m2",
        "m3",
        "m4",
        "m5",
    ]
    assert s.events == ["closed"]


def test_finalizing_a_closed_session_again_changes_nothing() -> None:
    s = closed()
    assert s.finalize(evaluate(s), BILLABLE, actor="sup-2", at=AT) is False
    assert (s.close_sequence, s.events) == (1, [])


def test_finalizing_with_scheduled_participants_lists_them() -> None:
    s = session({**VECTOR_1, "m6": S.SCHEDULED, "m7": S.SCHEDULED})
    with pytest.raises(DomainError) as refused:
        s.finalize(evaluate(s), BILLABLE, actor="sup-1", at=AT)
    assert refused.value.code == UNMARKED_PARTICIPANTS
    assert refused.value.details["scheduled_participants"] == ["m6", "m7"]
    assert s.status is SessionStatus.OPEN


def test_finalizing_with_no_supervisor_present_is_refused_with_the_issue() -> None:
    s = session(VECTOR_1, supervisor=S.ABSENT)
    with pytest.raises(DomainError) as refused:
        s.finalize(evaluate(s), BILLABLE, actor="sup-1", at=AT)
    assert refused.value.code == BLOCKING_ISSUES
    assert [i["code"] for i in refused.value.details["issues"]] == ["NO_SUPERVISOR_PRESENT"]


def test_an_error_cannot_be_acknowledged() -> None:
    s = session({"m1": S.ATTENDED, "m2": S.ABSENT})
    with pytest.raises(DomainError) as refused:
        s.finalize(
            evaluate(s),
            BILLABLE,
            actor="sup-1",
            at=AT,
            acknowledged_warnings=["GROUP_SIZE_BELOW_MINIMUM"],
        )
    assert refused.value.code == NOT_ACKNOWLEDGEABLE
    assert refused.value.details["codes"] == ["GROUP_SIZE_BELOW_MINIMUM"]


def test_a_ratio_breach_needs_acknowledging_and_is_recorded() -> None:
    s = session({f"m{i}": S.ATTENDED for i in range(1, 12)})
    with pytest.raises(DomainError) as refused:
        s.finalize(evaluate(s, ratio=10), BILLABLE, actor="sup-1", at=AT)
    assert refused.value.code == WARNINGS_NOT_ACKNOWLEDGED
    assert [i["code"] for i in refused.value.details["issues"]] == ["SUPERVISION_RATIO_BREACH"]
    assert s.finalize(
        evaluate(s, ratio=10),
        BILLABLE,
        actor="sup-1",
        at=AT,
        acknowledged_warnings=["SUPERVISION_RATIO_BREACH"],
    )
    assert s.closing is not None
    assert s.closing.acknowledged_warnings == ("SUPERVISION_RATIO_BREACH",)


def test_a_cancelled_session_cannot_be_finalized() -> None:
    s = session(VECTOR_1)
    s.cancel("storm")
    with pytest.raises(DomainError) as refused:
        s.finalize(evaluate(s), BILLABLE, actor="sup-1", at=AT)
    assert refused.value.code == SESSION_CANCELLED


# -- close by itself -------------------------------------------------------------------------


def test_a_session_with_every_row_terminal_and_nothing_blocking_closes_by_itself() -> None:
    s = session(VECTOR_1)
    assert s.close_by_itself(evaluate(s), BILLABLE, at=AT) is True
    assert s.closing is not None
    assert (s.closing.closure, s.closing.closed_by) == (Closure.AUTO_CLOSED, None)


def test_a_session_with_a_scheduled_row_or_a_blocking_issue_stays_open() -> None:
    unmarked = session({**VECTOR_1, "m7": S.SCHEDULED})
    unsupervised = session(VECTOR_1, supervisor=S.ABSENT)
    assert unmarked.close_by_itself(evaluate(unmarked), BILLABLE, at=AT) is False
    assert unsupervised.close_by_itself(evaluate(unsupervised), BILLABLE, at=AT) is False
    assert unmarked.status is SessionStatus.OPEN is unsupervised.status


def test_the_end_is_a_wall_clock_time_at_the_facility() -> None:
    s = session(VECTOR_1)  # ends 10:00 on 2026-03-09
    chicago = ZoneInfo("America/Chicago")  # UTC-5 that day (daylight time from 03-08)
    end = datetime(2026, 3, 9, 15, 0, tzinfo=UTC)
    assert not s.has_ended(end - timedelta(seconds=1), chicago)
    assert s.has_ended(end, chicago)


# -- lock ------------------------------------------------------------------------------------


def test_charges_of_the_current_closing_lock_the_session_once() -> None:
    s = closed()
    assert s.lock(1) is True
    assert s.lock(1) is False
    assert s.locked is True


def test_a_locked_session_refuses_marks_and_schedule_changes_with_locked() -> None:
    s = closed()
    s.lock(1)
    with pytest.raises(DomainError) as mark:
        s.mark_participant("m7", S.ATTENDED, actor="u", at=AT)
    with pytest.raises(DomainError) as cancel:
        s.cancel()
    assert (mark.value.code, cancel.value.code) == (LOCKED, LOCKED)


def test_a_closed_session_not_yet_charged_refuses_plain_marks_as_closed() -> None:
    s = closed()
    with pytest.raises(DomainError) as refused:
        s.mark_participant("m7", S.ATTENDED, actor="u", at=AT)
    assert refused.value.code == SESSION_CLOSED


def test_charges_of_an_undone_closing_do_not_lock_and_of_a_future_one_are_refused() -> None:
    s = closed()
    s.force_mark(RosterRole.PARTICIPANT, "m6", S.ATTENDED, actor="a", at=AT, reason="sheet")
    assert s.lock(1) is False
    assert s.locked is False
    with pytest.raises(DomainError) as refused:
        s.lock(2)
    assert refused.value.code == CLOSE_SEQUENCE_UNKNOWN


# -- force -----------------------------------------------------------------------------------


def test_a_forced_change_reopens_a_locked_session_and_returns_the_override() -> None:
    s = closed()
    s.lock(1)
    s.events.clear()
    override = s.force_mark(
        RosterRole.PARTICIPANT, "m6", S.ATTENDED, actor="admin", at=AT, reason=" sign-in sheet "
    )
    assert override is not None
    assert (override.from_status, override.to_status, override.reason) == (
        S.LEFT_EARLY,
        S.ATTENDED,
        "sign-in sheet",
    )
    assert (override.reopened, override.close_sequence) == (True, 1)
    assert (s.status, s.locked, s.closing) == (SessionStatus.OPEN, False, None)
    assert s.participants["m6"].status is S.ATTENDED
    assert s.events == ["reopened", "attendance_changed"]
    assert s.finalize(evaluate(s), BILLABLE, actor="sup", at=AT)
    assert s.close_sequence == 2
    assert s.closing is not None and s.closing.band_name == "Medium"


def test_a_forced_change_needs_a_reason() -> None:
    s = closed()
    for reason in (None, "  "):
        with pytest.raises(DomainError) as refused:
            s.force_mark(RosterRole.PARTICIPANT, "m6", S.ATTENDED, actor="a", at=AT, reason=reason)
        assert refused.value.code == FORCE_REASON_REQUIRED
    assert s.is_closed


def test_a_forced_change_is_refused_while_a_claim_is_at_the_payer() -> None:
    s = closed()
    s.lock(1)
    claims = [
        ClaimHold("clm-1", "SUBMITTED"),
        ClaimHold("clm-2", "REVERSED", "ACCEPTED"),
        ClaimHold("clm-3", "STALE", "ACCEPTED"),
        ClaimHold("clm-4", "READY"),
    ]
    with pytest.raises(DomainError) as refused:
        s.force_mark(
            RosterRole.PARTICIPANT, "m6", S.ATTENDED, actor="a", at=AT, reason="x", claims=claims
        )
    assert refused.value.code == CLAIM_SUBMITTED
    assert refused.value.details["claim_ids"] == ["clm-1", "clm-3"]
    assert s.locked and s.is_closed


def test_reversed_and_replaced_claims_let_the_force_through() -> None:
    s = closed()
    s.lock(1)
    claims = [ClaimHold("clm-1", "REVERSED", "SUBMITTED"), ClaimHold("clm-2", "REPLACED")]
    assert s.force_mark(
        RosterRole.PARTICIPANT, "m6", S.ATTENDED, actor="a", at=AT, reason="x", claims=claims
    )


def test_force_keeps_the_state_machine_and_a_retry_changes_nothing() -> None:
    s = closed()
    with pytest.raises(DomainError) as illegal:
        s.force_mark(RosterRole.PARTICIPANT, "m7", S.LEFT_EARLY, actor="a", at=AT, reason="x")
    assert illegal.value.code == ILLEGAL_TRANSITION
    assert s.is_closed
    assert (
        s.force_mark(RosterRole.PARTICIPANT, "m1", S.ATTENDED, actor="a", at=AT, reason="x") is None
    )
    assert s.is_closed


def test_force_on_an_open_session_is_a_plain_change_with_an_override() -> None:
    s = session({**VECTOR_1, "m7": S.SCHEDULED})
    override = s.force_mark(
        RosterRole.PARTICIPANT, "m7", S.ABSENT, actor="a", at=AT, reason="no-show"
    )
    assert override is not None and override.reopened is False
    assert s.events == ["attendance_changed"]
