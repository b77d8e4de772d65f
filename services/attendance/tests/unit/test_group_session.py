"""Schedule, update, cancel and attendance rules of the GroupSession aggregate."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time

import pytest

from attendance.domain.errors import (
    ILLEGAL_TRANSITION,
    INVALID_TIME_WINDOW,
    PARTICIPANT_UNKNOWN,
    SESSION_CANCELLED,
    SESSION_CLOSED,
    SUPERVISOR_UNKNOWN,
)
from attendance.domain.model import (
    GroupSession,
    RosterRole,
    SessionPlan,
    SessionStatus,
    StaffAssignment,
    supervising_providers,
)
from attendance.domain.roster import AttendanceStatus as S
from common.errors import DomainError

AT = datetime(2025, 3, 3, 15, 0, tzinfo=UTC)


def plan(
    participants: tuple[str, ...] = ("m1", "m2", "m3"),
    supervisors: tuple[str, ...] = ("p1",),
    start: time = time(9, 0),
    end: time = time(10, 0),
) -> SessionPlan:
    return SessionPlan.of(
        facility_id="fac-1",
        program_id="iop",
        session_date=date(2025, 3, 3),
        start_time=start,
        end_time=end,
        group_type="PROCESS_GROUP",
        service_code="90853",
        participants=participants,
        supervisors=supervisors,
    )


def scheduled(
    revision: int | None = None, initial_statuses: dict[str, S] | None = None
) -> GroupSession:
    session = GroupSession.schedule(
        tenant_id="t1",
        session_id="gs-1",
        plan=plan(),
        actor="feed",
        at=AT,
        revision=revision,
        initial_statuses=initial_statuses,
    )
    session.events.clear()
    return session


def test_a_scheduled_session_has_everyone_scheduled() -> None:
    session = scheduled()
    assert session.status is SessionStatus.SCHEDULED
    assert [e.status for e in session.participants.values()] == [S.SCHEDULED] * 3
    assert session.supervisors["p1"].status is S.SCHEDULED
    assert session.attendance_counts() == {
        S.SCHEDULED: 3,
        S.ATTENDED: 0,
        S.LATE: 0,
        S.LEFT_EARLY: 0,
        S.ABSENT: 0,
    }
    assert session.unmarked_participants() == ["m1", "m2", "m3"]


def test_supervisors_are_the_distinct_providers_assigned_supervising() -> None:
    assignments = [
        StaffAssignment("p1", "SUPERVISING"),
        StaffAssignment("p2", "CO_FACILITATOR"),
        StaffAssignment("p3", "SUPERVISING"),
        StaffAssignment("p1", "SUPERVISING"),
    ]
    assert supervising_providers(assignments) == ("p1", "p3")


def test_a_plan_keeps_each_member_once_in_first_order() -> None:
    assert plan(participants=("m2", "m1", "m2")).participants == ("m2", "m1")


def test_a_session_must_end_after_it_starts() -> None:
    with pytest.raises(DomainError) as refused:
        plan(start=time(10, 0), end=time(10, 0))
    assert refused.value.code == INVALID_TIME_WINDOW


def test_an_initial_status_from_the_scheduler_starts_the_row_and_is_kept_as_history() -> None:
    session = scheduled(initial_statuses={"m2": S.ATTENDED})
    assert session.participants["m2"].status is S.ATTENDED
    assert session.status is SessionStatus.OPEN
    [change] = session.new_history
    assert (change.subject_id, change.from_status, change.to_status) == ("m2", None, S.ATTENDED)


# -- updates ----------------------------------------------------------------------------


def test_an_identical_plan_changes_nothing() -> None:
    session = scheduled()
    assert session.reschedule(plan(), actor="feed", at=AT) is False
    assert session.events == []


def test_an_update_keeps_marks_of_who_remains_and_adds_newcomers_scheduled() -> None:
    session = scheduled()
    session.mark_participant("m1", S.ATTENDED, actor="u1", at=AT)
    session.mark_participant("m2", S.ABSENT, actor="u1", at=AT)
    changed = session.reschedule(
        plan(participants=("m1", "m3", "m4"), start=time(9, 30), end=time(10, 30)),
        actor="feed",
        at=AT,
    )
    assert changed is True
    assert {m: e.status for m, e in session.participants.items()} == {
        "m1": S.ATTENDED,
        "m3": S.SCHEDULED,
        "m4": S.SCHEDULED,
    }
    assert session.plan.start_time == time(9, 30)


def test_an_update_replaces_the_supervisors_keeping_marks_of_who_remains() -> None:
    session = scheduled()
    session.mark_supervisor("p1", S.ATTENDED, actor="u1", at=AT)
    session.reschedule(plan(supervisors=("p1", "p2")), actor="feed", at=AT)
    assert {p: e.status for p, e in session.supervisors.items()} == {
        "p1": S.ATTENDED,
        "p2": S.SCHEDULED,
    }


def test_an_initial_status_never_overrides_a_mark() -> None:
    session = scheduled()
    session.mark_participant("m1", S.LATE, actor="u1", at=AT)
    session.reschedule(
        plan(participants=("m1", "m2", "m3", "m4")),
        actor="feed",
        at=AT,
        initial_statuses={"m1": S.ABSENT, "m4": S.ABSENT},
    )
    assert session.participants["m1"].status is S.LATE
    assert session.participants["m4"].status is S.ABSENT


def test_an_update_older_than_the_applied_revision_is_ignored() -> None:
    session = scheduled(revision=5)
    assert session.reschedule(plan(participants=("m1",)), actor="f", at=AT, revision=4) is False
    assert session.reschedule(plan(participants=("m1",)), actor="f", at=AT, revision=5) is False
    assert list(session.participants) == ["m1", "m2", "m3"]
    assert session.reschedule(plan(participants=("m1",)), actor="f", at=AT, revision=6) is True
    assert list(session.participants) == ["m1"]
    assert session.revision == 6


def test_a_newer_revision_with_the_same_plan_is_remembered() -> None:
    session = scheduled(revision=1)
    assert session.reschedule(plan(), actor="f", at=AT, revision=3) is True
    assert session.revision == 3
    assert session.reschedule(plan(participants=("m9",)), actor="f", at=AT, revision=2) is False


def test_an_update_after_cancel_is_refused() -> None:
    session = scheduled()
    session.cancel("room flooded")
    with pytest.raises(DomainError) as refused:
        session.reschedule(plan(participants=("m1",)), actor="feed", at=AT)
    assert refused.value.code == SESSION_CANCELLED


# -- cancel -----------------------------------------------------------------------------


def test_cancel_cancels_once() -> None:
    session = scheduled()
    assert session.cancel("storm") is True
    assert session.status is SessionStatus.CANCELLED
    assert session.cancel_reason == "storm"
    assert session.cancel("again") is False
    assert session.cancel_reason == "storm"


def test_a_cancel_older_than_the_applied_revision_is_ignored() -> None:
    session = scheduled(revision=7)
    assert session.cancel(revision=6) is False
    assert session.status is SessionStatus.SCHEDULED
    assert session.cancel(revision=7) is True


def test_a_closed_session_cannot_be_cancelled() -> None:
    session = replace(scheduled(), status=SessionStatus.CLOSED)
    with pytest.raises(DomainError) as refused:
        session.cancel()
    assert refused.value.code == SESSION_CLOSED


def test_a_closed_session_cannot_be_rescheduled() -> None:
    session = replace(scheduled(), status=SessionStatus.CLOSED)
    with pytest.raises(DomainError) as refused:
        session.reschedule(plan(participants=("m1",)), actor="f", at=AT)
    assert refused.value.code == SESSION_CLOSED


# -- attendance -------------------------------------------------------------------------


def test_a_mark_moves_the_row_opens_the_session_and_is_kept_as_history() -> None:
    session = scheduled()
    change = session.mark_participant("m1", S.LATE, actor="u7", at=AT)
    assert change is not None
    assert session.participants["m1"].status is S.LATE
    assert session.status is SessionStatus.OPEN
    assert session.new_history == [change]
    assert (change.role, change.from_status, change.to_status, change.actor, change.at) == (
        RosterRole.PARTICIPANT,
        S.SCHEDULED,
        S.LATE,
        "u7",
        AT,
    )


def test_marking_the_status_a_row_has_already_changes_nothing() -> None:
    session = scheduled()
    session.mark_participant("m1", S.ATTENDED, actor="u1", at=AT)
    assert session.mark_participant("m1", S.ATTENDED, actor="u1", at=AT) is None
    assert len(session.new_history) == 1


def test_an_illegal_mark_is_refused_and_changes_nothing() -> None:
    session = scheduled()
    session.mark_participant("m1", S.ABSENT, actor="u1", at=AT)
    with pytest.raises(DomainError) as refused:
        session.mark_participant("m1", S.LEFT_EARLY, actor="u1", at=AT)
    assert refused.value.code == ILLEGAL_TRANSITION
    assert refused.value.details["legal_next_states"] == ["ATTENDED", "LATE"]
    assert session.participants["m1"].status is S.ABSENT
    assert len(session.new_history) == 1


def test_supervisors_follow_the_same_state_machine() -> None:
    session = scheduled()
    session.mark_supervisor("p1", S.ATTENDED, actor="u1", at=AT)
    with pytest.raises(DomainError) as refused:
        session.mark_supervisor("p1", S.SCHEDULED, actor="u1", at=AT)
    assert refused.value.code == ILLEGAL_TRANSITION
    assert session.new_history[0].role is RosterRole.SUPERVISOR


def test_supervisors_are_not_counted_in_the_roster() -> None:
    session = scheduled()
    session.mark_supervisor("p1", S.ATTENDED, actor="u1", at=AT)
    assert session.attendance_counts()[S.ATTENDED] == 0


def test_marking_someone_not_on_the_session_is_refused() -> None:
    session = scheduled()
    with pytest.raises(DomainError) as member:
        session.mark_participant("m9", S.ATTENDED, actor="u1", at=AT)
    with pytest.raises(DomainError) as provider:
        session.mark_supervisor("p9", S.ATTENDED, actor="u1", at=AT)
    assert (member.value.code, provider.value.code) == (PARTICIPANT_UNKNOWN, SUPERVISOR_UNKNOWN)


def test_marking_a_cancelled_session_is_refused() -> None:
    session = scheduled()
    session.cancel()
    with pytest.raises(DomainError) as refused:
        session.mark_participant("m1", S.ATTENDED, actor="u1", at=AT)
    assert refused.value.code == SESSION_CANCELLED


def test_counts_follow_the_marks() -> None:
    session = scheduled()
    session.mark_participant("m1", S.ATTENDED, actor="u1", at=AT)
    session.mark_participant("m2", S.LATE, actor="u1", at=AT)
    session.mark_participant("m2", S.LEFT_EARLY, actor="u1", at=AT)
    counts = session.attendance_counts()
    assert (counts[S.ATTENDED], counts[S.LEFT_EARLY], counts[S.SCHEDULED]) == (1, 1, 1)
    assert session.unmarked_participants() == ["m3"]
