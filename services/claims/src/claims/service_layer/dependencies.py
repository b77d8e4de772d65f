"""What the claims use cases need besides the unit of work, picked by the composition
root (``bootstrap.py``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from claims.adapters.db.claims_repository import ClaimRepository
from claims.adapters.reference_data import ReferenceCatalog
from claims.domain.code_sets import DiagnosisCodeSet
from claims.service_layer.ports import ControlNumbers, EdiPreview
from common.db import UnitOfWork, utcnow
from contracts.tenant import TenantConfig


def _packaged_reference() -> ReferenceCatalog:
    return ReferenceCatalog.load_packaged()


@dataclass(frozen=True)
class ClaimsDependencies:
    #: The tenant's configuration (raises TENANT_NOT_CONFIGURED for an unknown tenant).
    tenant_config: Callable[[str], TenantConfig]
    diagnoses: DiagnosisCodeSet
    #: Base URL of the EDI gateway's API, for links to the files it serves.
    edi_gateway_url: str | None = None
    #: Revenue codes and the DRG master: packaged, refreshable.
    reference: ReferenceCatalog = field(default_factory=_packaged_reference)
    #: "Now", for cycles that close as their period ends (tests pass their own).
    clock: Callable[[], datetime] = utcnow
    #: Every tenant configured (the cycle-close sweep reads them).
    tenant_ids: Callable[[], list[str]] = list
    #: The gateway's dry-run rendering of the 837 (None: no gateway configured).
    edi_preview: EdiPreview | None = None
    #: CLM01 numbers taken apart from the build (None: in the build's transaction).
    control_numbers: ControlNumbers | None = None
    #: Stays to a transaction when many are built at once (the sweep, a bulk build).
    stays_per_transaction: int = 50


async def next_control_number(uow: UnitOfWork, deps: ClaimsDependencies, tenant_id: str) -> int:
    """The tenant's next CLM01 sequence: apart from ``uow`` (no lock held until it commits)
    unless ``uow`` is a dry run, whose number is taken in its own transaction and given
    back by its rollback, so the real build that follows gets the number it showed."""
    if deps.control_numbers is None or uow.rehearsal:
        return await ClaimRepository(uow.session).next_patient_control_sequence(tenant_id)
    return await deps.control_numbers.next(tenant_id)


@dataclass
class ControlNumberBlock:
    """CLM01 numbers for one transaction's builds of many stays (#10): the first number
    asked for takes ``size`` from the counter in one statement, and they are handed out in
    order. Those left when the transaction ends are never used: the sequence is unique,
    not gap-free (a rolled-back build leaves a gap as well). Of size 1, or in a dry run,
    each number is ``next_control_number``'s."""

    size: int = 1
    _left: list[int] = field(default_factory=list)

    async def next(self, uow: UnitOfWork, deps: ClaimsDependencies, tenant_id: str) -> int:
        if self.size <= 1 or deps.control_numbers is None or uow.rehearsal:
            return await next_control_number(uow, deps, tenant_id)
        if not self._left:
            last = await deps.control_numbers.next(tenant_id, self.size)
            self._left = list(range(last - self.size + 1, last + 1))
        return self._left.pop(0)
