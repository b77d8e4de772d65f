"""A withdrawal request racing the batcher and the submission it names, against the real
database: each pair of transactions is held open at the moment that matters, so the
outcome is the one the row locks decide, not the one a scheduler happened to pick."""

from __future__ import annotations

import asyncio
import threading
import uuid
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from common.db import UnitOfWork
from common.outbox import OUTBOX
from common.tenants import TenantDirectory
from common.testing.processes import SAMPLE_TENANTS
from contracts.events.claims import ClaimSubmitted
from contracts.events.edi import WithdrawalOutcome
from contracts.tenant import TenantConfig
from edi_gateway.adapters.db.repository import TransmissionRepository
from edi_gateway.adapters.db.tables import CLAIM_SUBMISSION
from edi_gateway.adapters.x12_validator import Pyx12Validator
from edi_gateway.bootstrap import default_renderers
from edi_gateway.domain.batching import BatchKey
from edi_gateway.domain.model import ClaimSubmissionStatus, TransactionType, UsageIndicator
from edi_gateway.domain.validation import ValidationIssue
from edi_gateway.service_layer.batching import ClaimBatcher, ClaimValidator
from edi_gateway.service_layer.submissions import AcceptClaim, accept_claim
from edi_gateway.service_layer.withdrawals import WithdrawClaim, withdraw_claim

from ..claim_samples import CLEARINGHOUSE, TENANT, claim_data, withdrawal_data, withdrawal_request

KEY = BatchKey(TENANT, CLEARINGHOUSE, TransactionType.PROFESSIONAL, UsageIndicator.TEST)
SOURCE = "rcm/edi-gateway"
BLOCKED_FOR = 0.5  # long enough for a statement that is not waiting on a lock to finish


@pytest.fixture(scope="module")
def tenant() -> TenantConfig:
    return TenantDirectory.load(SAMPLE_TENANTS).get(TENANT)


class HeldValidator:
    """pyx12, but it waits for ``release`` before judging: the batcher is then mid-batch,
    its claims locked and their file rendered, the transaction open."""

    def __init__(self) -> None:
        self._inner = Pyx12Validator()
        self.entered = threading.Event()
        self.release = threading.Event()

    def validate(self, text: str) -> list[ValidationIssue]:
        self.entered.set()
        self.release.wait(10)
        return self._inner.validate(text)


def batcher(
    sessions: async_sessionmaker[AsyncSession], validator: ClaimValidator | None = None
) -> ClaimBatcher:
    return ClaimBatcher(
        unit_of_work=lambda: UnitOfWork(sessions, source=SOURCE),
        tenants=TenantDirectory.load(SAMPLE_TENANTS),
        renderers=default_renderers(),
        validator=validator or Pyx12Validator(),
        transports={},
    )


def withdrawing(claim: dict[str, Any]) -> WithdrawClaim:
    return WithdrawClaim(TENANT, str(uuid.uuid4()), None, withdrawal_request(claim))


def arriving(claim: dict[str, Any]) -> AcceptClaim:
    return AcceptClaim(TENANT, str(uuid.uuid4()), None, ClaimSubmitted.model_validate(claim))


async def accept(
    sessions: async_sessionmaker[AsyncSession], tenant: TenantConfig, claim: dict[str, Any]
) -> ClaimSubmissionStatus | None:
    async with UnitOfWork(sessions, source=SOURCE) as uow:
        status = await accept_claim(uow, tenant, arriving(claim))
        await uow.commit()
    return status


async def withdraw(
    sessions: async_sessionmaker[AsyncSession], claim: dict[str, Any]
) -> WithdrawalOutcome:
    async with UnitOfWork(sessions, source=SOURCE) as uow:
        outcome = await withdraw_claim(uow, withdrawing(claim))
        await uow.commit()
    return outcome


async def stored_row(sessions: async_sessionmaker[AsyncSession], claim_id: str) -> dict[str, Any]:
    async with sessions() as session:
        query = select(CLAIM_SUBMISSION).where(CLAIM_SUBMISSION.c.claim_id == claim_id)
        return dict((await session.execute(query)).mappings().one())


async def written(
    sessions: async_sessionmaker[AsyncSession], event_type: str, claim_id: str
) -> list[dict[str, Any]]:
    async with sessions() as session:
        query = select(OUTBOX.c.payload).where(OUTBOX.c.event_type == event_type)
        return [
            p["data"] for p in (await session.execute(query)).scalars() if p["subject"] == claim_id
        ]


async def answers(
    sessions: async_sessionmaker[AsyncSession], claim_id: str
) -> list[tuple[str, str]]:
    return [
        (a["outcome"], a["submission_status"])
        for a in await written(sessions, "edi.claim.withdrawal_answered.v1", claim_id)
    ]


async def still_waiting(task: asyncio.Task[Any]) -> bool:
    await asyncio.sleep(BLOCKED_FOR)
    return not task.done()


async def test_a_request_meeting_a_batch_being_built_waits_and_is_answered_too_late(
    sessions: async_sessionmaker[AsyncSession], tenant: TenantConfig
) -> None:
    claim = claim_data()
    await accept(sessions, tenant, claim)
    validator = HeldValidator()
    batch = asyncio.create_task(batcher(sessions, validator).batch_group(KEY))
    assert await asyncio.to_thread(validator.entered.wait, 10)

    request = asyncio.create_task(withdraw(sessions, claim))
    assert await still_waiting(request)  # on the row the batcher locked
    validator.release.set()
    result = await batch

    assert result is not None and result.interchange is not None
    assert await request is WithdrawalOutcome.TOO_LATE
    assert await answers(sessions, claim["claim_id"]) == [("TOO_LATE", "BATCHED")]
    row = await stored_row(sessions, claim["claim_id"])
    assert (row["status"], row["interchange_id"]) == ("BATCHED", result.interchange.interchange_id)


async def test_a_request_holding_the_version_keeps_it_out_of_the_batch_being_built(
    sessions: async_sessionmaker[AsyncSession], tenant: TenantConfig
) -> None:
    stale, other = claim_data(), claim_data()
    await accept(sessions, tenant, stale)
    await accept(sessions, tenant, other)

    async with UnitOfWork(sessions, source=SOURCE) as uow:
        outcome = await withdraw_claim(uow, withdrawing(stale))
        # Another transaction, while the request's is open: it passes the locked row by.
        result = await batcher(sessions).batch_group(KEY)
        await uow.commit()

    assert outcome is WithdrawalOutcome.WITHDRAWN
    assert result is not None and result.interchange is not None
    async with sessions() as session:
        placed = await TransmissionRepository(session).for_interchange(
            TENANT, result.interchange.interchange_id
        )
    assert [t.claim_id for t in placed] == [other["claim_id"]]
    assert await batcher(sessions).batch_group(KEY) is None  # nothing left waiting
    assert (await stored_row(sessions, stale["claim_id"]))["status"] == "WITHDRAWN"
    assert await answers(sessions, stale["claim_id"]) == [("WITHDRAWN", "WITHDRAWN")]


async def test_a_request_meeting_its_submission_being_stored_waits_and_withdraws_it(
    sessions: async_sessionmaker[AsyncSession], tenant: TenantConfig
) -> None:
    claim = claim_data()
    async with UnitOfWork(sessions, source=SOURCE) as submission:
        assert await accept_claim(submission, tenant, arriving(claim)) is (
            ClaimSubmissionStatus.PENDING
        )
        request = asyncio.create_task(withdraw(sessions, claim))
        assert await still_waiting(request)  # on the version's key the submission took
        await submission.commit()

    assert await request is WithdrawalOutcome.WITHDRAWN
    row = await stored_row(sessions, claim["claim_id"])
    assert (row["status"], row["usage_indicator"]) == ("WITHDRAWN", "T")
    assert row["payload"] == ClaimSubmitted.model_validate(claim).model_dump(mode="json")
    assert await batcher(sessions).batch_group(KEY) is None


async def test_a_submission_meeting_its_withdrawal_being_stored_waits_and_is_not_held(
    sessions: async_sessionmaker[AsyncSession], tenant: TenantConfig
) -> None:
    claim = claim_data()
    async with UnitOfWork(sessions, source=SOURCE) as request:
        assert await withdraw_claim(request, withdrawing(claim)) is WithdrawalOutcome.WITHDRAWN
        submission = asyncio.create_task(accept(sessions, tenant, claim))
        assert await still_waiting(submission)  # on the version's key the request took
        await request.commit()

    assert await submission is None  # already held: nothing stored, nothing refused
    row = await stored_row(sessions, claim["claim_id"])
    assert (row["status"], row["usage_indicator"]) == ("WITHDRAWN", None)
    assert row["payload"] == withdrawal_data(claim)
    assert await batcher(sessions).batch_group(KEY) is None


@pytest.mark.parametrize(
    ("last_name", "status"),
    [
        ("DOE", "BATCHED"),
        ("O*BRIEN", "REJECTED"),  # a delimiter in a name: refused before any number
    ],
)
async def test_a_version_batched_or_rejected_is_answered_too_late_and_left_alone(
    sessions: async_sessionmaker[AsyncSession],
    tenant: TenantConfig,
    last_name: str,
    status: str,
) -> None:
    claim = claim_data(last_name=last_name)
    await accept(sessions, tenant, claim)
    await batcher(sessions).batch_group(KEY)
    before = await stored_row(sessions, claim["claim_id"])
    assert before["status"] == status

    assert await withdraw(sessions, claim) is WithdrawalOutcome.TOO_LATE

    assert await answers(sessions, claim["claim_id"]) == [("TOO_LATE", status)]
    assert await stored_row(sessions, claim["claim_id"]) == before
