"""Interchanges: open one with its ISA13 and GS06, list them, show one with its claims,
serve archived files, and a claim's transmissions."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from edi_gateway.adapters.db.acknowledgment_repository import (
    AcknowledgmentRepository,
    TransmissionAcknowledgment,
)
from edi_gateway.adapters.db.repository import (
    ArchivedFileRepository,
    ClaimSubmissionRepository,
    InterchangeRepository,
    TransmissionRepository,
)
from edi_gateway.domain.model import (
    ArchivedFile,
    ClaimSubmission,
    ControlNumberKind,
    Interchange,
    InterchangeStatus,
    TransactionType,
    Transmission,
    UsageIndicator,
)
from edi_gateway.service_layer.control_numbers import allocate_control_numbers


@dataclass(frozen=True)
class OpenInterchange:
    tenant_id: str
    clearinghouse_id: str
    sender_id: str
    transaction_type: TransactionType
    usage_indicator: UsageIndicator


async def open_interchange(session: AsyncSession, command: OpenInterchange) -> Interchange:
    """Allocate an interchange's ISA13 and its group's GS06 and record them, in the
    caller's transaction (numbers and record commit together or not at all)."""
    (isa13,) = await allocate_control_numbers(
        session, command.tenant_id, command.sender_id, ControlNumberKind.INTERCHANGE
    )
    (gs06,) = await allocate_control_numbers(
        session, command.tenant_id, command.sender_id, ControlNumberKind.GROUP
    )
    return await InterchangeRepository(session).add(
        tenant_id=command.tenant_id,
        interchange_id=str(uuid.uuid4()),
        clearinghouse_id=command.clearinghouse_id,
        sender_id=command.sender_id,
        transaction_type=command.transaction_type,
        usage_indicator=command.usage_indicator,
        isa13=isa13,
        gs06=gs06,
    )


async def list_interchanges(
    session: AsyncSession,
    tenant_id: str,
    *,
    clearinghouse_id: str | None = None,
    status: InterchangeStatus | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[Interchange]:
    return await InterchangeRepository(session).list(
        tenant_id, clearinghouse_id=clearinghouse_id, status=status, limit=limit, offset=offset
    )


@dataclass(frozen=True)
class InterchangeDetail:
    interchange: Interchange
    transmissions: list[Transmission]
    file: ArchivedFile | None  # its metadata, without the bytes


async def get_interchange(
    session: AsyncSession, tenant_id: str, interchange_id: str
) -> InterchangeDetail | None:
    interchange = await InterchangeRepository(session).get(tenant_id, interchange_id)
    if interchange is None:
        return None
    transmissions = await TransmissionRepository(session).for_interchange(tenant_id, interchange_id)
    archived = (
        await ArchivedFileRepository(session).get(
            tenant_id, interchange.file_id, with_content=False
        )
        if interchange.file_id
        else None
    )
    return InterchangeDetail(interchange=interchange, transmissions=transmissions, file=archived)


async def get_archived_file(
    session: AsyncSession, tenant_id: str, file_id: str
) -> ArchivedFile | None:
    return await ArchivedFileRepository(session).get(tenant_id, file_id)


@dataclass(frozen=True)
class PlacedTransmission:
    """A claim version's place in an interchange, and where it stands by the
    acknowledgments heard so far (None before the first)."""

    transmission: Transmission
    interchange: Interchange
    acknowledgment: TransmissionAcknowledgment | None


@dataclass(frozen=True)
class ClaimTransmissions:
    """Every version of a claim the gateway was given, and every interchange it went in."""

    submissions: list[ClaimSubmission]
    transmissions: list[PlacedTransmission]


async def claim_transmissions(
    session: AsyncSession, tenant_id: str, claim_id: str
) -> ClaimTransmissions | None:
    submissions = await ClaimSubmissionRepository(session).for_claim(tenant_id, claim_id)
    if not submissions:
        return None
    interchanges = InterchangeRepository(session)
    standings = {
        (s.interchange_id, s.claim_version): s
        for s in await AcknowledgmentRepository(session).for_claim(tenant_id, claim_id)
    }
    placed: list[PlacedTransmission] = []
    for transmission in await TransmissionRepository(session).for_claim(tenant_id, claim_id):
        interchange = await interchanges.get(tenant_id, transmission.interchange_id)
        if interchange is not None:
            standing = standings.get((transmission.interchange_id, transmission.claim_version))
            placed.append(PlacedTransmission(transmission, interchange, standing))
    return ClaimTransmissions(submissions=submissions, transmissions=placed)
