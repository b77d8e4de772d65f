"""Use cases: load, call one domain operation, commit (events go out via the outbox)."""

from __future__ import annotations

from dataclasses import dataclass

from common.db import UnitOfWork
from stays.adapters.db.repository import StayRepository
from stays.domain import errors
from stays.domain.model import Admission, Stay, StayRuleViolation
from stays.service_layer.changes import ChangeSource, announce


@dataclass(frozen=True)
class AdmitStay:
    tenant_id: str
    stay_id: str
    member_id: str
    facility_id: str
    program_id: str
    admission: Admission
    source: ChangeSource


async def admit_stay(uow: UnitOfWork, command: AdmitStay) -> Stay:
    """Record an admission. The same admission told twice (by the feed and the API, or a
    replayed feed under a new event id) is recorded once; a different admission under an
    existing stay id is refused: corrections arrive as ``ehr.stay.corrected``."""
    repository = StayRepository(uow.session)
    await repository.lock(command.tenant_id, command.stay_id)
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
        recorded=command.source.recorded(),
    )
    change = stay.changes[-1]
    if not await repository.add(stay):
        # A concurrent writer committed this stay id first; read committed sees it now.
        winner = await repository.get(command.tenant_id, command.stay_id)
        assert winner is not None
        return _same_or_refuse(winner, command)
    announce(uow, stay, change)
    return stay


def _same_or_refuse(existing: Stay, command: AdmitStay) -> Stay:
    if existing.same_admission(command.member_id, command.program_id, command.admission):
        return existing
    raise StayRuleViolation(
        errors.STAY_ALREADY_ADMITTED,
        f"stay {command.stay_id} exists with a different admission; send a correction",
    )
