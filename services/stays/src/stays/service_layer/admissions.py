"""Use cases: load, call one domain operation, commit (events go out via the outbox)."""

from __future__ import annotations

from dataclasses import dataclass

from common.db import UnitOfWork
from contracts.events import STAYS_STAY_ADMITTED_V1
from contracts.events.stays import StayAdmitted
from contracts.events.stays import StayStatus as ContractStayStatus
from stays.adapters.db.repository import StayRepository
from stays.domain.model import Admission, Stay, StayRuleViolation


@dataclass(frozen=True)
class AdmitStay:
    tenant_id: str
    stay_id: str
    member_id: str
    facility_id: str
    program_id: str
    admission: Admission


async def admit_stay(uow: UnitOfWork, command: AdmitStay) -> Stay:
    """Record an admission. The same admission told twice (by the feed and the API, or a
    replayed feed under a new event id) is recorded once; a different admission under an
    existing stay id is refused: corrections arrive as ``ehr.stay.corrected``."""
    repository = StayRepository(uow.session)
    existing = await repository.get(command.tenant_id, command.stay_id)
    if existing is not None:
        return _same_or_refuse(existing, command)
    stay = Stay.admit(
        tenant_id=command.tenant_id,
        stay_id=command.stay_id,
        member_id=command.member_id,
        facility_id=command.facility_id,
        program_id=command.program_id,
        admission=command.admission,
    )
    if not await repository.add(stay):
        # A concurrent writer committed this stay id first; read committed sees it now.
        winner = await repository.get(command.tenant_id, command.stay_id)
        assert winner is not None
        return _same_or_refuse(winner, command)
    uow.publish(
        type=STAYS_STAY_ADMITTED_V1,
        tenant_id=stay.tenant_id,
        subject=stay.stay_id,
        data=admitted_event_data(stay),
    )
    return stay


def _same_or_refuse(existing: Stay, command: AdmitStay) -> Stay:
    if existing.same_admission(command.member_id, command.program_id, command.admission):
        return existing
    raise StayRuleViolation(
        "STAY_ALREADY_ADMITTED",
        f"stay {command.stay_id} exists with a different admission; send a correction",
    )


def admitted_event_data(stay: Stay) -> StayAdmitted:
    return StayAdmitted(
        stay_id=stay.stay_id,
        stay_version=max(1, stay.version),
        member_id=stay.member_id,
        facility_id=stay.facility_id,
        program_id=stay.program_id,
        status=ContractStayStatus(stay.status.value),
        admission=stay.admission,
    )
