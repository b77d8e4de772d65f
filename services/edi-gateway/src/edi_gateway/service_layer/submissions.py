"""A submitted claim arrives: store it to wait for its batch (SPEC 7)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from common.db import UnitOfWork, utcnow
from common.logging import get_logger
from common.telemetry import current_traceparent
from contracts.events import EDI_CLAIM_REJECTED_V1
from contracts.events.claims import ClaimSubmitted
from contracts.events.edi import EdiClaimRejected, RejectionStage
from contracts.tenant import ConfigLookupError, TenantConfig
from edi_gateway.adapters.db.repository import ClaimSubmissionRepository
from edi_gateway.domain.model import ClaimSubmissionStatus, TransactionType, UsageIndicator

log = get_logger(__name__)

# Event ids derived from what they are about: publishing the same fact twice (a retried
# transaction) collides on the outbox's unique event id instead of going out twice.
EVENT_NAMESPACE = uuid.UUID("6f1c1f52-3f0e-4a55-9b6a-8c0c3e0d7e21")


@dataclass(frozen=True)
class AcceptClaim:
    tenant_id: str
    event_id: str
    correlation_id: str | None
    claim: ClaimSubmitted


async def accept_claim(
    uow: UnitOfWork, tenant: TenantConfig, command: AcceptClaim
) -> ClaimSubmissionStatus | None:
    """Store the claim version as PENDING for its clearinghouse, transaction type and the
    clearinghouse's usage indicator. A version already stored (a redelivery, a duplicate
    under another event id, one withdrawn before it arrived) changes nothing: None. A
    claim naming a clearinghouse the tenant does not have goes back as rejected."""
    claim = command.claim
    repository = ClaimSubmissionRepository(uow.session)

    async def store(
        usage_indicator: UsageIndicator | None,
        status: ClaimSubmissionStatus = ClaimSubmissionStatus.PENDING,
        codes: Sequence[str] | None = None,
        message: str | None = None,
    ) -> bool:
        return await repository.add(
            tenant_id=command.tenant_id,
            claim_id=claim.claim_id,
            claim_version=claim.claim_version,
            patient_control_number=claim.patient_control_number,
            clearinghouse_id=claim.clearinghouse_id,
            transaction_type=TransactionType(claim.transaction_type.value),
            usage_indicator=usage_indicator,
            payload=claim.model_dump(mode="json"),
            event_id=command.event_id,
            correlation_id=command.correlation_id,
            status=status,
            rejection_codes=codes,
            rejection_message=message,
            traceparent=current_traceparent(),
        )

    try:
        clearinghouse = tenant.clearinghouse(claim.clearinghouse_id)
    except ConfigLookupError:
        codes = ["CLEARINGHOUSE_NOT_CONFIGURED"]
        message = f"the tenant has no clearinghouse '{claim.clearinghouse_id}'"
        if not await store(None, ClaimSubmissionStatus.REJECTED, codes, message):
            return None
        publish_rejection(
            uow,
            command.tenant_id,
            claim.claim_id,
            claim.claim_version,
            claim.patient_control_number,
            codes,
            message,
            utcnow(),
        )
        log.warning("claim_refused_on_arrival", claim_id=claim.claim_id, code=codes[0])
        return ClaimSubmissionStatus.REJECTED
    if not await store(UsageIndicator(clearinghouse.usage_indicator)):
        log.info("claim_version_already_held", claim_id=claim.claim_id)
        return None
    return ClaimSubmissionStatus.PENDING


def publish_rejection(
    uow: UnitOfWork,
    tenant_id: str,
    claim_id: str,
    claim_version: int,
    patient_control_number: str,
    codes: Sequence[str],
    message: str,
    rejected_at: datetime,
) -> None:
    uow.publish(
        type=EDI_CLAIM_REJECTED_V1,
        tenant_id=tenant_id,
        subject=claim_id,
        event_id=str(
            uuid.uuid5(EVENT_NAMESPACE, f"rejected/{tenant_id}/{claim_id}/{claim_version}")
        ),
        data=EdiClaimRejected(
            claim_id=claim_id,
            claim_version=claim_version,
            patient_control_number=patient_control_number,
            stage=RejectionStage.PRE_SEND_VALIDATION,
            codes=list(codes),
            message=message,
            rejected_at=rejected_at,
        ),
    )
