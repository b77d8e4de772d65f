"""The stay rules of SPEC 4, one behaviour per test (SPEC 12 vector 2's stay: admitted
2026-01-10, leave 01-20 back 01-23, discharged home on 2026-02-03)."""

from typing import Any

import pytest

from common.errors import NotYetKnown
from contracts.codes import LeaveReason
from stays.domain.errors import StayRuleViolation
from stays.domain.model import (
    Stay,
    StayChangeKind,
    StayCorrectionKind,
    StayStatus,
)

from .stay_builders import WHEN, D, admission, discharge, end, start, stay


def refused(code: str) -> Any:
    return pytest.raises(StayRuleViolation, match=f"^{code}:")


def vector_2() -> Stay:
    s = stay()
    start(s, "loa-1", "2026-01-20")
    end(s, "loa-1", "2026-01-23")
    s.discharge_on(discharge("2026-02-03"), recorded=WHEN)
    return s


# -- admission and versions ------------------------------------------------------------


def test_admitting_is_version_1_with_an_admitted_history_line() -> None:
    s = stay()
    assert s.version == 1
    assert [(c.stay_version, c.kind) for c in s.changes] == [(1, StayChangeKind.ADMITTED)]
    assert s.changes[0].recorded == WHEN


def test_vector_2_is_four_changes_versions_1_to_4() -> None:
    s = vector_2()
    assert [(c.stay_version, c.kind) for c in s.changes] == [
        (1, StayChangeKind.ADMITTED),
        (2, StayChangeKind.LEAVE_STARTED),
        (3, StayChangeKind.LEAVE_ENDED),
        (4, StayChangeKind.DISCHARGED),
    ]
    assert s.status is StayStatus.DISCHARGED
    assert [(lv.start_date, lv.return_date) for lv in s.leaves] == [
        (D("2026-01-20"), D("2026-01-23"))
    ]


def test_same_admission_compares_member_program_and_admission() -> None:
    s = stay()
    assert s.same_admission("M1", "RES", admission())
    assert not s.same_admission("M1", "RES", admission(admit_hour=9))
    assert not s.same_admission("M2", "RES", admission())


# -- day counts (midnight rule) --------------------------------------------------------


def test_open_stay_counts_admission_day_through_as_of() -> None:
    # Admitted 2026-01-10, still in on 2026-01-31: 22 days (vector 2's January).
    assert stay().length_of_stay(D("2026-01-31")) == 22


def test_vector_2_january_is_22_days_19_covered_3_loa_nights() -> None:
    s = stay()
    start(s, "loa-1", "2026-01-20", "2026-01-23")
    as_of = D("2026-01-31")
    assert (s.length_of_stay(as_of), s.covered_days(as_of), s.loa_nights(as_of)) == (22, 19, 3)


def test_vector_2_whole_stay_is_24_days_21_covered_3_loa_the_discharge_day_not_counted() -> None:
    s = vector_2()
    later = D("2026-03-01")
    assert (s.length_of_stay(later), s.covered_days(later), s.loa_nights(later)) == (24, 21, 3)


def test_same_day_admit_and_discharge_is_one_day() -> None:
    s = stay()
    s.discharge_on(discharge("2026-01-10"), recorded=WHEN)
    assert s.length_of_stay(D("2026-01-10")) == 1
    assert s.covered_days(D("2026-01-10")) == 1


def test_a_stay_as_of_before_its_admission_has_no_days() -> None:
    assert stay().length_of_stay(D("2026-01-09")) == 0


def test_an_open_leave_counts_every_night_from_its_start_through_as_of() -> None:
    s = stay()
    start(s, "loa-1", "2026-01-20")
    assert s.loa_nights(D("2026-01-25")) == 6  # 01-20 .. 01-25
    assert s.loa_nights(D("2026-01-19")) == 0


def test_a_stay_entered_in_error_has_no_days() -> None:
    s = vector_2()
    s.enter_in_error(recorded=WHEN)
    assert (s.length_of_stay(D("2026-03-01")), s.loa_nights(D("2026-03-01"))) == (0, 0)


# -- leaves ----------------------------------------------------------------------------


def test_starting_a_leave_is_a_new_version_naming_the_leave() -> None:
    s = stay()
    change = s.start_leave(
        leave_id="loa-1", start_date=D("2026-01-20"), reason=LeaveReason.THERAPEUTIC, recorded=WHEN
    )
    assert change is not None
    assert (change.stay_version, change.kind, change.leave_id) == (
        2,
        StayChangeKind.LEAVE_STARTED,
        "loa-1",
    )
    assert s.leave("loa-1") is not None and s.leave("loa-1").is_open  # type: ignore[union-attr]


def test_the_same_leave_start_told_twice_changes_nothing() -> None:
    s = stay()
    start(s, "loa-1", "2026-01-20")
    assert start(s, "loa-1", "2026-01-20") is None
    assert s.version == 2


def test_a_different_leave_under_a_known_leave_id_is_refused() -> None:
    s = stay()
    start(s, "loa-1", "2026-01-20")
    with refused("LEAVE_ID_IN_USE"):
        start(s, "loa-1", "2026-01-21")


def test_a_leave_starting_before_the_admission_is_outside_the_stay() -> None:
    with refused("LEAVE_OUTSIDE_STAY"):
        start(stay(), "loa-1", "2026-01-09", "2026-01-12")


def test_a_leave_may_start_on_the_admission_day() -> None:
    s = stay()
    start(s, "loa-1", "2026-01-10", "2026-01-11")
    assert s.loa_nights(D("2026-01-31")) == 1


def test_a_leave_returning_after_the_discharge_is_outside_the_stay() -> None:
    s = stay()
    s.discharge_on(discharge("2026-02-03"), recorded=WHEN)
    with refused("LEAVE_OUTSIDE_STAY"):
        start(s, "loa-1", "2026-01-30", "2026-02-04")


def test_a_leave_starting_on_or_after_the_discharge_is_refused_as_stay_discharged() -> None:
    s = stay()
    s.discharge_on(discharge("2026-02-03"), recorded=WHEN)
    with refused("STAY_DISCHARGED"):
        start(s, "loa-1", "2026-02-03")
    with refused("STAY_DISCHARGED"):
        start(s, "loa-2", "2026-02-05", "2026-02-07")


def test_leaves_sharing_a_night_away_overlap() -> None:
    s = stay()
    start(s, "loa-1", "2026-01-20", "2026-01-23")
    with refused("LEAVE_OVERLAPS"):
        start(s, "loa-2", "2026-01-22", "2026-01-25")
    with refused("LEAVE_OVERLAPS"):
        start(s, "loa-3", "2026-01-18", "2026-01-21")


def test_a_leave_may_start_on_the_return_day_of_another() -> None:
    # Back on 01-23 and away again that night: nights 20-22 and 23-24 are disjoint.
    s = stay()
    start(s, "loa-1", "2026-01-20", "2026-01-23")
    start(s, "loa-2", "2026-01-23", "2026-01-25")
    assert s.loa_nights(D("2026-01-31")) == 5


def test_a_second_leave_while_one_is_open_is_refused_as_already_open() -> None:
    s = stay()
    start(s, "loa-1", "2026-01-20")
    with refused("LEAVE_ALREADY_OPEN"):
        start(s, "loa-2", "2026-01-25")


def test_an_open_leave_must_be_the_latest() -> None:
    s = stay()
    start(s, "loa-2", "2026-01-25", "2026-01-27")
    with refused("LEAVE_OVERLAPS"):
        start(s, "loa-1", "2026-01-20")


def test_a_leave_recorded_late_before_an_open_one_is_applied() -> None:
    s = stay()
    start(s, "loa-2", "2026-01-25")
    start(s, "loa-1", "2026-01-15", "2026-01-17")
    assert [lv.leave_id for lv in s.leaves] == ["loa-1", "loa-2"]


def test_a_return_not_after_the_start_is_out_of_order() -> None:
    with refused("OUT_OF_ORDER"):
        start(stay(), "loa-1", "2026-01-20", "2026-01-20")
    s = stay()
    start(s, "loa-1", "2026-01-20")
    with refused("OUT_OF_ORDER"):
        end(s, "loa-1", "2026-01-19")


def test_ending_a_leave_sets_its_return_and_is_a_new_version() -> None:
    s = stay()
    start(s, "loa-1", "2026-01-20")
    change = end(s, "loa-1", "2026-01-23")
    assert change is not None and change.kind is StayChangeKind.LEAVE_ENDED  # type: ignore[attr-defined]
    assert s.leaves[0].return_date == D("2026-01-23")
    assert s.version == 3


def test_the_same_return_told_twice_changes_nothing() -> None:
    s = stay()
    start(s, "loa-1", "2026-01-20")
    end(s, "loa-1", "2026-01-23")
    assert end(s, "loa-1", "2026-01-23") is None
    assert s.version == 3


def test_ending_a_leave_already_ended_on_another_day_is_refused_as_not_open() -> None:
    s = stay()
    start(s, "loa-1", "2026-01-20")
    end(s, "loa-1", "2026-01-23")
    with refused("LEAVE_NOT_OPEN"):
        end(s, "loa-1", "2026-01-24")


def test_ending_an_unknown_leave_is_retryable_leave_unknown() -> None:
    with pytest.raises(NotYetKnown) as raised:
        end(stay(), "loa-9", "2026-01-23")
    assert raised.value.code == "LEAVE_UNKNOWN" and raised.value.retryable


# -- discharge -------------------------------------------------------------------------


def test_discharge_closes_the_stay() -> None:
    s = stay()
    change = s.discharge_on(discharge("2026-02-03"), recorded=WHEN)
    assert change is not None and change.kind is StayChangeKind.DISCHARGED
    assert s.status is StayStatus.DISCHARGED
    assert s.discharge == discharge("2026-02-03")


def test_discharge_closes_an_open_leave_on_the_discharge_date() -> None:
    s = stay()
    start(s, "loa-1", "2026-01-30")
    s.discharge_on(discharge("2026-02-03"), recorded=WHEN)
    leave = s.leaves[0]
    assert (leave.return_date, leave.closed_by_discharge) == (D("2026-02-03"), True)
    assert s.loa_nights(D("2026-03-01")) == 4  # 01-30 .. 02-02


def test_discharge_before_the_admission_is_refused() -> None:
    with refused("DISCHARGE_BEFORE_ADMISSION"):
        stay().discharge_on(discharge("2026-01-09"), recorded=WHEN)


def test_discharge_on_or_before_a_leave_start_is_refused_as_leave_outside_stay() -> None:
    s = stay()
    start(s, "loa-1", "2026-01-20", "2026-01-23")
    with refused("LEAVE_OUTSIDE_STAY"):
        s.discharge_on(discharge("2026-01-20"), recorded=WHEN)
    with refused("LEAVE_OUTSIDE_STAY"):
        s.discharge_on(discharge("2026-01-22"), recorded=WHEN)  # back only on 01-23


def test_the_same_discharge_told_twice_changes_nothing_a_different_one_is_refused() -> None:
    s = stay()
    s.discharge_on(discharge("2026-02-03"), recorded=WHEN)
    assert s.discharge_on(discharge("2026-02-03"), recorded=WHEN) is None
    with refused("STAY_DISCHARGED"):
        s.discharge_on(discharge("2026-02-04"), recorded=WHEN)
    assert s.version == 2


def test_a_leave_recorded_late_on_a_discharged_stay_is_closed_on_the_discharge_date() -> None:
    s = stay()
    s.discharge_on(discharge("2026-02-03"), recorded=WHEN)
    start(s, "loa-1", "2026-01-30")
    assert (s.leaves[0].return_date, s.leaves[0].closed_by_discharge) == (D("2026-02-03"), True)
    # Its real return, told later, replaces the discharge date.
    end(s, "loa-1", "2026-02-01")
    assert (s.leaves[0].return_date, s.leaves[0].closed_by_discharge) == (D("2026-02-01"), False)


# -- corrections -----------------------------------------------------------------------


def test_undoing_the_discharge_admits_again_and_reopens_the_leave_it_closed() -> None:
    s = stay()
    start(s, "loa-1", "2026-01-30")
    s.discharge_on(discharge("2026-02-03"), recorded=WHEN)
    change = s.undo_discharge(recorded=WHEN)
    assert change is not None
    assert change.correction_kind is StayCorrectionKind.DISCHARGE_UNDONE
    assert (change.affected_from, change.affected_through) == (D("2026-02-03"), None)
    assert (s.status, s.discharge) == (StayStatus.ADMITTED, None)
    assert s.leaves[0].is_open


def test_undoing_a_discharge_never_made_is_retryable_stay_not_discharged() -> None:
    with pytest.raises(NotYetKnown) as raised:
        stay().undo_discharge(recorded=WHEN)
    assert raised.value.code == "STAY_NOT_DISCHARGED"


def test_changing_the_discharge_moves_a_leave_it_closed_and_names_both_dates() -> None:
    s = stay()
    start(s, "loa-1", "2026-01-30")
    s.discharge_on(discharge("2026-02-03"), recorded=WHEN)
    change = s.change_discharge(discharge("2026-02-05", status="20"), recorded=WHEN)
    assert change is not None
    assert change.correction_kind is StayCorrectionKind.DISCHARGE_CHANGED
    assert (change.affected_from, change.affected_through) == (D("2026-02-03"), D("2026-02-05"))
    assert s.leaves[0].return_date == D("2026-02-05")


def test_changing_the_discharge_to_before_a_return_is_refused() -> None:
    s = vector_2()
    with refused("LEAVE_OUTSIDE_STAY"):
        s.change_discharge(discharge("2026-01-22"), recorded=WHEN)
    with pytest.raises(NotYetKnown):
        stay().change_discharge(discharge("2026-01-22"), recorded=WHEN)


def test_changing_the_admission_affects_billing_from_the_earlier_admit_date() -> None:
    s = vector_2()
    change = s.change_admission(admission(admit_date=D("2026-01-08")), recorded=WHEN)
    assert change is not None
    assert change.correction_kind is StayCorrectionKind.ADMISSION_CHANGED
    assert (change.affected_from, change.affected_through) == (D("2026-01-08"), None)
    assert s.admit_date == D("2026-01-08")
    assert s.change_admission(admission(admit_date=D("2026-01-08")), recorded=WHEN) is None


def test_an_admission_moved_past_a_leave_or_the_discharge_is_refused() -> None:
    s = vector_2()
    with refused("LEAVE_OUTSIDE_STAY"):
        s.change_admission(admission(admit_date=D("2026-01-21")), recorded=WHEN)
    t = stay()
    t.discharge_on(discharge("2026-01-12"), recorded=WHEN)
    with refused("DISCHARGE_BEFORE_ADMISSION"):
        t.change_admission(admission(admit_date=D("2026-01-13")), recorded=WHEN)


def test_an_admission_entered_in_error_voids_the_stay_and_refuses_later_changes() -> None:
    s = vector_2()
    change = s.enter_in_error(recorded=WHEN)
    assert change is not None
    assert change.correction_kind is StayCorrectionKind.ADMISSION_ENTERED_IN_ERROR
    assert change.affected_from == D("2026-01-10")
    assert s.status is StayStatus.ENTERED_IN_ERROR
    assert s.enter_in_error(recorded=WHEN) is None
    with refused("STAY_ENTERED_IN_ERROR"):
        start(s, "loa-2", "2026-01-25", "2026-01-26")
    with refused("STAY_ENTERED_IN_ERROR"):
        s.undo_discharge(recorded=WHEN)


def test_cancelling_a_leave_makes_its_nights_covered_again() -> None:
    s = vector_2()
    change = s.cancel_leave(leave_id="loa-1", recorded=WHEN)
    assert change is not None
    assert change.correction_kind is StayCorrectionKind.LEAVE_CANCELLED
    assert (change.affected_from, change.affected_through) == (D("2026-01-20"), D("2026-01-22"))
    assert s.leaves == []
    assert s.covered_days(D("2026-03-01")) == 24
    # Told again, or its end told after the cancel: nothing changes.
    assert s.cancel_leave(leave_id="loa-1", recorded=WHEN) is None
    assert end(s, "loa-1", "2026-01-23") is None
    assert s.version == 5


def test_cancelling_an_unknown_leave_is_retryable_and_correcting_a_cancelled_one_refused() -> None:
    with pytest.raises(NotYetKnown):
        stay().cancel_leave(leave_id="loa-9", recorded=WHEN)
    s = vector_2()
    s.cancel_leave(leave_id="loa-1", recorded=WHEN)
    with refused("LEAVE_CANCELLED"):
        s.change_leave(
            leave_id="loa-1",
            start_date=D("2026-01-20"),
            return_date=None,
            reason=LeaveReason.OTHER,
            recorded=WHEN,
        )


def test_changing_a_leave_names_every_night_whose_billing_may_change() -> None:
    s = vector_2()
    change = s.change_leave(
        leave_id="loa-1",
        start_date=D("2026-01-21"),
        return_date=D("2026-01-26"),
        reason=LeaveReason.HOSPITALIZATION,
        recorded=WHEN,
    )
    assert change is not None
    assert change.correction_kind is StayCorrectionKind.LEAVE_CHANGED
    assert (change.affected_from, change.affected_through) == (D("2026-01-20"), D("2026-01-25"))
    assert s.loa_nights(D("2026-03-01")) == 5


def test_a_changed_leave_told_about_for_the_first_time_is_recorded_late() -> None:
    s = vector_2()
    change = s.change_leave(
        leave_id="loa-2",
        start_date=D("2026-01-27"),
        return_date=D("2026-01-29"),
        reason=LeaveReason.OTHER,
        recorded=WHEN,
    )
    assert change is not None and change.leave_id == "loa-2"
    assert (change.affected_from, change.affected_through) == (D("2026-01-27"), D("2026-01-28"))
    with pytest.raises(NotYetKnown):
        s.change_leave(
            leave_id="loa-3",
            start_date=D("2026-01-30"),
            return_date=None,
            reason=LeaveReason.OTHER,
            recorded=WHEN,
            may_add=False,
        )


def test_reopening_a_leave_by_correction_opens_it_until_the_discharge() -> None:
    s = stay()
    start(s, "loa-1", "2026-01-20", "2026-01-23")
    s.change_leave(
        leave_id="loa-1",
        start_date=D("2026-01-20"),
        return_date=None,
        reason=LeaveReason.THERAPEUTIC,
        recorded=WHEN,
    )
    assert s.leaves[0].is_open
    with refused("LEAVE_ALREADY_OPEN"):
        start(s, "loa-2", "2026-01-25")


def test_a_refused_change_leaves_the_stay_as_it_was() -> None:
    s = vector_2()
    before = (list(s.leaves), s.discharge, s.status, s.version, len(s.changes))
    with refused("LEAVE_OVERLAPS"):
        start(s, "loa-2", "2026-01-21", "2026-01-24")
    assert (list(s.leaves), s.discharge, s.status, s.version, len(s.changes)) == before
