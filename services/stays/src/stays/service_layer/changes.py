"""Use cases changing a recorded stay: leaves, discharge, corrections. Each loads the stay
(locked, so the events of one stay apply one after the other), calls one domain operation,
writes the stay with its history line and announces the whole stay in the same
transaction. A change told again changes nothing and announces nothing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from common.db import UnitOfWork, utcnow
from contracts.codes import LeaveReason
from stays.adapters.db.repository import StayRepository
from stays.domain.errors import StayUnknown
from stays.domain.model import Admission, Discharge, Recorded, Stay, StayChange
from stays.service_layer.canonical import canonical_event


@dataclass(frozen=True)
class ChangeSource:
    """Who tells the change: an operator (the token's subject) or a feed (the event's
    source, id and, for corrections, who corrected it), and why."""

    by: str
    event_id: str | None = None
    note: str | None = None

    def recorded(self) -> Recorded:
        return Recorded(at=utcnow(), by=self.by, event_id=self.event_id, note=self.note)


@dataclass(frozen=True)
class StayCommand:
    tenant_id: str
    stay_id: str
    source: ChangeSource


@dataclass(frozen=True)
class StartLeave(StayCommand):
    leave_id: str
    start_date: date
    reason: LeaveReason
    return_date: date | None = None


@dataclass(frozen=True)
class EndLeave(StayCommand):
    leave_id: str
    return_date: date


@dataclass(frozen=True)
class ChangeLeave(StayCommand):
    leave_id: str
    start_date: date
    return_date: date | None
    reason: LeaveReason
    #: The feed may tell a leave after the fact as a change; an operator corrects only
    #: a leave recorded already.
    may_add: bool = True


@dataclass(frozen=True)
class CancelLeave(StayCommand):
    leave_id: str


@dataclass(frozen=True)
class DischargeStay(StayCommand):
    discharge: Discharge


@dataclass(frozen=True)
class ChangeDischarge(StayCommand):
    discharge: Discharge


@dataclass(frozen=True)
class UndoDischarge(StayCommand):
    pass


@dataclass(frozen=True)
class ChangeAdmission(StayCommand):
    admission: Admission


@dataclass(frozen=True)
class EnterInError(StayCommand):
    pass


def _apply(stay: Stay, command: StayCommand, recorded: Recorded) -> StayChange | None:
    match command:
        case StartLeave():
            return stay.start_leave(
                leave_id=command.leave_id,
                start_date=command.start_date,
                return_date=command.return_date,
                reason=command.reason,
                recorded=recorded,
            )
        case EndLeave():
            return stay.end_leave(
                leave_id=command.leave_id, return_date=command.return_date, recorded=recorded
            )
        case ChangeLeave():
            return stay.change_leave(
                leave_id=command.leave_id,
                start_date=command.start_date,
                return_date=command.return_date,
                reason=command.reason,
                recorded=recorded,
                may_add=command.may_add,
            )
        case CancelLeave():
            return stay.cancel_leave(leave_id=command.leave_id, recorded=recorded)
        case DischargeStay():
            return stay.discharge_on(command.discharge, recorded=recorded)
        case ChangeDischarge():
            return stay.change_discharge(command.discharge, recorded=recorded)
        case UndoDischarge():
            return stay.undo_discharge(recorded=recorded)
        case ChangeAdmission():
            return stay.change_admission(command.admission, recorded=recorded)
        case EnterInError():
            return stay.enter_in_error(recorded=recorded)
    raise TypeError(f"no stay operation for {type(command).__name__}")


async def change_stay(uow: UnitOfWork, command: StayCommand) -> tuple[Stay, StayChange | None]:
    """Apply ``command`` to its stay; the change made (None: nothing changed)."""
    repository = StayRepository(uow.session)
    await repository.lock(command.tenant_id, command.stay_id)
    stay = await repository.get(command.tenant_id, command.stay_id, for_update=True)
    if stay is None:
        raise StayUnknown(command.stay_id)
    change = _apply(stay, command, command.source.recorded())
    if change is not None:
        announce(uow, stay, change)
        await repository.save(stay)
    return stay, change


def announce(uow: UnitOfWork, stay: Stay, change: StayChange) -> None:
    """Publish the canonical event of ``change`` (through the outbox)."""
    event_type, data = canonical_event(stay, change)
    uow.publish(
        type=event_type,
        tenant_id=stay.tenant_id,
        subject=stay.stay_id,
        data=data,
    )
