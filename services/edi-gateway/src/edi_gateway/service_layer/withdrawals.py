"""A submitted claim version asked back before it left
(``claims.claim.withdrawal_requested.v1``): the claims service learnt, a moment after it
submitted, that the version is STALE. The gateway withdraws it while it still waits for
its batch, and answers (``edi.claim.withdrawal_answered.v1``) either way.

Two writers race for the version's row, and neither may win by accident:

- the batcher takes PENDING rows ``FOR UPDATE SKIP LOCKED`` and marks them BATCHED. The
  request locks the row first (``lock_version``): the batcher passes it by and, once the
  request commits, finds it WITHDRAWN; or the batcher holds it first, and the request
  waits and reads BATCHED: too late.
- the submission itself (``claims.claim.submitted.v1``) may come after the request (two
  replicas, prefetch, redelivery). The request then stores a WITHDRAWN placeholder under
  the version's unique key; the submission's own insert finds the key taken and stores
  nothing (``accept_claim``: ``claim_version_already_held``), so it is never batched and
  never refused. Two inserts of one key wait for each other, so exactly one of them holds
  the version and the other sees it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from common.db import UnitOfWork, utcnow
from common.logging import get_logger
from common.telemetry import current_traceparent
from contracts.events import EDI_CLAIM_WITHDRAWAL_ANSWERED_V1
from contracts.events.claims import ClaimWithdrawalRequested
from contracts.events.edi import EdiClaimWithdrawalAnswered, WithdrawalOutcome
from edi_gateway.adapters.db.repository import ClaimSubmissionRepository, in_outbox
from edi_gateway.domain.model import ClaimSubmissionStatus, TransactionType, withdrawable
from edi_gateway.service_layer.submissions import EVENT_NAMESPACE

log = get_logger(__name__)


@dataclass(frozen=True)
class WithdrawClaim:
    tenant_id: str
    event_id: str
    correlation_id: str | None
    request: ClaimWithdrawalRequested


async def withdraw_claim(uow: UnitOfWork, command: WithdrawClaim) -> WithdrawalOutcome:
    """Withdraw the version if it has not been batched (or hold it withdrawn before it
    arrives), and answer WITHDRAWN; once batched, transmitted or rejected, answer TOO_LATE
    with where it stands. A repeated request finds the same, and the answer already
    written stands for it (``_answer``)."""
    request = command.request
    if await _hold_withdrawn_before_arrival(uow, command):
        status = ClaimSubmissionStatus.WITHDRAWN
        log.info(
            "claim_withdrawn",
            claim_id=request.claim_id,
            claim_version=request.claim_version,
            before_arrival=True,
        )
    else:
        status = await _withdraw_held(uow, command)
    outcome = (
        WithdrawalOutcome.WITHDRAWN
        if status is ClaimSubmissionStatus.WITHDRAWN
        else WithdrawalOutcome.TOO_LATE
    )
    await _answer(uow, command, outcome, status)
    return outcome


async def _hold_withdrawn_before_arrival(uow: UnitOfWork, command: WithdrawClaim) -> bool:
    """Store the version WITHDRAWN when it has not arrived; False when it is held
    already (arrived, or withdrawn by an earlier request)."""
    request = command.request
    return await ClaimSubmissionRepository(uow.session).add(
        tenant_id=command.tenant_id,
        claim_id=request.claim_id,
        claim_version=request.claim_version,
        patient_control_number=request.patient_control_number,
        clearinghouse_id=request.clearinghouse_id,
        transaction_type=TransactionType(request.transaction_type.value),
        # No usage indicator: the placeholder joins no batch group.
        usage_indicator=None,
        payload=request.model_dump(mode="json"),
        event_id=command.event_id,
        correlation_id=command.correlation_id,
        status=ClaimSubmissionStatus.WITHDRAWN,
        traceparent=current_traceparent(),
    )


async def _withdraw_held(uow: UnitOfWork, command: WithdrawClaim) -> ClaimSubmissionStatus:
    """The held version's status after the request: WITHDRAWN unless it was batched,
    transmitted or rejected first."""
    request = command.request
    repository = ClaimSubmissionRepository(uow.session)
    held = await repository.lock_version(command.tenant_id, request.claim_id, request.claim_version)
    if held is None:
        # The insert found the version's key taken by a committed row, and rows are never
        # deleted: this cannot be. Fail, and the request is retried.
        raise RuntimeError("claim version neither stored nor found")
    if not withdrawable(held.status):
        log.info(
            "claim_withdrawal_too_late",
            claim_id=request.claim_id,
            claim_version=request.claim_version,
            submission_status=held.status.value,
        )
        return held.status
    if held.status is ClaimSubmissionStatus.PENDING:
        await repository.mark_withdrawn(held.row_id)
        log.info(
            "claim_withdrawn",
            claim_id=request.claim_id,
            claim_version=request.claim_version,
            before_arrival=False,
        )
    return ClaimSubmissionStatus.WITHDRAWN


async def _answer(
    uow: UnitOfWork,
    command: WithdrawClaim,
    outcome: WithdrawalOutcome,
    status: ClaimSubmissionStatus,
) -> None:
    """Publish the answer, named after the version: its outcome never changes (WITHDRAWN
    is final, and a batched, transmitted or rejected version never waits again). A
    repeated request (another event id) finds that answer in the outbox and writes none:
    the outbox refuses an id twice, and the claims service, which deduplicates by id,
    would drop the copy anyway. The version's row lock, taken before this, orders
    concurrent requests, so the later one sees the earlier one's committed answer."""
    request = command.request
    tenant_id = command.tenant_id
    event_id = str(
        uuid.uuid5(
            EVENT_NAMESPACE, f"withdrawal/{tenant_id}/{request.claim_id}/{request.claim_version}"
        )
    )
    if await in_outbox(uow.session, event_id):
        log.info(
            "claim_withdrawal_already_answered",
            claim_id=request.claim_id,
            claim_version=request.claim_version,
        )
        return
    uow.publish(
        type=EDI_CLAIM_WITHDRAWAL_ANSWERED_V1,
        tenant_id=tenant_id,
        subject=request.claim_id,
        event_id=event_id,
        data=EdiClaimWithdrawalAnswered(
            claim_id=request.claim_id,
            claim_version=request.claim_version,
            patient_control_number=request.patient_control_number,
            outcome=outcome,
            submission_status=status.value,
            answered_at=utcnow(),
        ),
    )
