"""Whatever the EHR or an operator tells a stay, in whatever order: every accepted change
is exactly one new version whose canonical event satisfies the contract's invariants
(building the contract model validates them), and every refused one leaves the stay as it
was. Plus the canonical events of vector 2."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contracts.codes import LeaveReason
from contracts.events import (
    STAYS_STAY_ADMITTED_V1,
    STAYS_STAY_CORRECTED_V1,
    STAYS_STAY_DISCHARGED_V1,
    STAYS_STAY_LEAVE_ENDED_V1,
    STAYS_STAY_LEAVE_STARTED_V1,
)
from contracts.events.stays import StayCorrected, StayState
from stays.domain.errors import StayRuleViolation
from stays.domain.model import Stay, StayChange
from stays.service_layer.canonical import canonical_event

from .stay_builders import ADMIT, WHEN, D, admission, discharge, end, start, stay

Operation = Callable[[Stay], StayChange | None]

days = st.integers(min_value=-3, max_value=40).map(lambda n: ADMIT + timedelta(days=n))
leave_ids = st.sampled_from(["a", "b", "c", "d"])
reasons = st.sampled_from(list(LeaveReason))
returns = st.one_of(st.none(), st.integers(min_value=1, max_value=12))


@st.composite
def operations(draw: st.DrawFn) -> tuple[str, Operation]:
    kind = draw(
        st.sampled_from(
            ["start"] * 6
            + ["end"] * 4
            + ["discharge"] * 3
            + ["change_leave"] * 2
            + ["cancel"] * 2
            + ["undo_discharge"] * 2
            + ["change_discharge", "change_admission", "enter_in_error"]
        )
    )
    leave_id = draw(leave_ids)
    on = draw(days)
    nights = draw(returns)
    back = None if nights is None else on + timedelta(days=nights)
    reason = draw(reasons)
    status = draw(st.sampled_from(["01", "20", "51"]))

    def run(s: Stay) -> StayChange | None:
        match kind:
            case "start":
                return s.start_leave(
                    leave_id=leave_id, start_date=on, return_date=back, reason=reason, recorded=WHEN
                )
            case "end":
                # Mostly the leave the member is away on, back some nights later.
                away = next((lv for lv in s.leaves if lv.is_open or lv.closed_by_discharge), None)
                if away is not None and nights is not None:
                    return s.end_leave(
                        leave_id=away.leave_id,
                        return_date=away.start_date + timedelta(days=nights),
                        recorded=WHEN,
                    )
                return s.end_leave(leave_id=leave_id, return_date=on, recorded=WHEN)
            case "discharge":
                return s.discharge_on(discharge(on.isoformat(), status=status), recorded=WHEN)
            case "change_leave":
                return s.change_leave(
                    leave_id=leave_id, start_date=on, return_date=back, reason=reason, recorded=WHEN
                )
            case "cancel":
                return s.cancel_leave(leave_id=leave_id, recorded=WHEN)
            case "undo_discharge":
                return s.undo_discharge(recorded=WHEN)
            case "change_discharge":
                return s.change_discharge(discharge(on.isoformat(), status=status), recorded=WHEN)
            case "change_admission":
                return s.change_admission(
                    admission(admit_date=on - timedelta(days=5)), recorded=WHEN
                )
            case _:
                return s.enter_in_error(recorded=WHEN)

    return f"{kind}({leave_id}, {on}, {back}, {reason.value}, {status})", run


def snapshot(s: Stay) -> dict[str, Any]:
    state = copy.deepcopy(vars(s))
    state["changes"] = len(s.changes)
    return state


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(operations(), max_size=14))
def test_every_accepted_change_is_one_version_announcing_a_valid_whole_stay(
    steps: list[tuple[str, Operation]],
) -> None:
    s = stay()
    canonical_event(s, s.changes[-1])
    for _label, run in steps:
        before = snapshot(s)
        try:
            change = run(s)
        except StayRuleViolation:
            assert snapshot(s) == before  # a refusal changes nothing
            continue
        if change is None:
            assert snapshot(s) == before  # told again: nothing changes
            continue
        assert change.stay_version == before["version"] + 1 == s.version
        _, data = canonical_event(s, change)  # validates every contract invariant
        assert data.stay_version == s.version
        as_of = ADMIT + timedelta(days=60)
        assert 0 <= s.loa_nights(as_of) <= s.length_of_stay(as_of)
        assert s.covered_days(as_of) + s.loa_nights(as_of) == s.length_of_stay(as_of)
    assert [c.stay_version for c in s.changes] == list(range(1, s.version + 1))


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(min_value=0, max_value=25), st.integers(min_value=1, max_value=6)),
        max_size=6,
    ),
    st.integers(min_value=0, max_value=35),
    st.booleans(),
)
def test_valid_leaves_and_a_discharge_always_make_a_contract_valid_stay(
    leaves: list[tuple[int, int]], discharge_after: int, last_open: bool
) -> None:
    """Disjoint leaves laid end to end (the last maybe still open), then a discharge:
    each step is accepted or refused with a code, and what is accepted is valid."""
    s = stay()
    cursor = ADMIT
    for index, (gap, nights) in enumerate(leaves):
        first = cursor + timedelta(days=gap)
        back = first + timedelta(days=nights)
        is_last = index == len(leaves) - 1
        start(
            s,
            f"loa-{index}",
            first.isoformat(),
            None if is_last and last_open else back.isoformat(),
        )
        canonical_event(s, s.changes[-1])
        cursor = back
    try:
        change = s.discharge_on(
            discharge((cursor + timedelta(days=discharge_after)).isoformat()), recorded=WHEN
        )
    except StayRuleViolation as refusal:
        assert refusal.code == "LEAVE_OUTSIDE_STAY"
        return
    assert change is not None
    _, data = canonical_event(s, change)
    assert all(leave.return_date is not None for leave in data.leaves)


def vector_2_events() -> list[tuple[str, StayState]]:
    """The canonical event of each change of vector 2's stay, as it is made."""
    replay = stay()
    out = [canonical_event(replay, replay.changes[-1])]
    steps: list[Operation] = [
        lambda r: start(r, "loa-1", "2026-01-20"),  # type: ignore[arg-type,return-value]
        lambda r: end(r, "loa-1", "2026-01-23"),  # type: ignore[arg-type,return-value]
        lambda r: r.discharge_on(discharge("2026-02-03"), recorded=WHEN),
    ]
    for step in steps:
        change = step(replay)
        assert change is not None
        out.append(canonical_event(replay, change))
    return out


def test_vector_2_announces_admitted_leave_started_leave_ended_discharged_v1_to_v4() -> None:
    events = vector_2_events()
    assert [(t, d.stay_version) for t, d in events] == [
        (STAYS_STAY_ADMITTED_V1, 1),
        (STAYS_STAY_LEAVE_STARTED_V1, 2),
        (STAYS_STAY_LEAVE_ENDED_V1, 3),
        (STAYS_STAY_DISCHARGED_V1, 4),
    ]
    started, ended, discharged = events[1][1], events[2][1], events[3][1]
    assert [(lv.start_date, lv.return_date) for lv in started.leaves] == [(D("2026-01-20"), None)]
    assert [(lv.start_date, lv.return_date) for lv in ended.leaves] == [
        (D("2026-01-20"), D("2026-01-23"))
    ]
    assert discharged.discharge is not None
    assert (discharged.discharge.discharge_date, discharged.discharge.patient_status) == (
        D("2026-02-03"),
        "01",
    )


def test_a_cancelled_leave_is_announced_as_a_correction_without_the_leave() -> None:
    s = stay()
    start(s, "loa-1", "2026-01-20", "2026-01-23")
    change = s.cancel_leave(leave_id="loa-1", recorded=WHEN)
    assert change is not None
    event_type, data = canonical_event(s, change)
    assert event_type == STAYS_STAY_CORRECTED_V1
    assert isinstance(data, StayCorrected)
    assert (data.correction_kind, data.leave_id, data.leaves) == ("LEAVE_CANCELLED", "loa-1", [])
    assert (data.affected_from, data.affected_through) == (D("2026-01-20"), D("2026-01-22"))
