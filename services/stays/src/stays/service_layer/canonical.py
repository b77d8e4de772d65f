"""Domain changes translated into the canonical ``stays.stay.*`` events at the edge: the
whole stay after the change, with its ``stay_version``. Building the contract model checks
the contract's invariants (leaves inside the stay, disjoint, one open and the latest...):
a stay that broke one would fail here, before anything is committed. No I/O."""

from __future__ import annotations

from typing import Any

from contracts.events import (
    STAYS_STAY_ADMITTED_V1,
    STAYS_STAY_CORRECTED_V1,
    STAYS_STAY_DISCHARGED_V1,
    STAYS_STAY_LEAVE_ENDED_V1,
    STAYS_STAY_LEAVE_STARTED_V1,
)
from contracts.events.stay_components import LeaveOfAbsence
from contracts.events.stays import (
    StayAdmitted,
    StayCorrected,
    StayDischarged,
    StayLeaveEnded,
    StayLeaveStarted,
    StayState,
)
from contracts.events.stays import StayStatus as ContractStayStatus
from stays.domain.model import Leave, Stay, StayChange, StayChangeKind

EVENT_TYPES: dict[StayChangeKind, str] = {
    StayChangeKind.ADMITTED: STAYS_STAY_ADMITTED_V1,
    StayChangeKind.LEAVE_STARTED: STAYS_STAY_LEAVE_STARTED_V1,
    StayChangeKind.LEAVE_ENDED: STAYS_STAY_LEAVE_ENDED_V1,
    StayChangeKind.DISCHARGED: STAYS_STAY_DISCHARGED_V1,
    StayChangeKind.CORRECTED: STAYS_STAY_CORRECTED_V1,
}


def contract_leave(leave: Leave) -> LeaveOfAbsence:
    return LeaveOfAbsence(
        leave_id=leave.leave_id,
        start_date=leave.start_date,
        return_date=leave.return_date,
        reason=leave.reason,
    )


def canonical_event(stay: Stay, change: StayChange) -> tuple[str, StayState]:
    """The event type and data announcing ``change``; ``stay`` is the stay right after it
    (the change is its newest)."""
    if change.stay_version != stay.version:
        raise ValueError(
            f"change {change.stay_version} is not the newest of stay {stay.stay_id} "
            f"(version {stay.version})"
        )
    state: dict[str, Any] = {
        "stay_id": stay.stay_id,
        "stay_version": stay.version,
        "member_id": stay.member_id,
        "facility_id": stay.facility_id,
        "program_id": stay.program_id,
        "status": ContractStayStatus(stay.status.value),
        "admission": stay.admission,
        "leaves": [contract_leave(leave) for leave in stay.leaves],
        "discharge": stay.discharge,
    }
    data: StayState
    match change.kind:
        case StayChangeKind.ADMITTED:
            data = StayAdmitted(**state)
        case StayChangeKind.LEAVE_STARTED:
            data = StayLeaveStarted(**state, leave_id=change.leave_id)
        case StayChangeKind.LEAVE_ENDED:
            data = StayLeaveEnded(**state, leave_id=change.leave_id)
        case StayChangeKind.DISCHARGED:
            data = StayDischarged(**state)
        case StayChangeKind.CORRECTED:
            assert change.correction_kind is not None and change.affected_from is not None
            data = StayCorrected(
                **state,
                correction_kind=change.correction_kind,
                leave_id=change.leave_id,
                affected_from=change.affected_from,
                affected_through=change.affected_through,
                note=change.recorded.note,
            )
    return EVENT_TYPES[change.kind], data
