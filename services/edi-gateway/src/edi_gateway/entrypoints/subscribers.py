"""Inbound events of the edi-gateway, translated into use-case commands."""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

from common.messaging import EventHandlers, HandlerContext
from common.tenants import TenantDirectory
from contracts.events import CLAIM_SUBMITTED_V1, CLAIM_WITHDRAWAL_REQUESTED_V1
from contracts.events.claims import ClaimSubmitted, ClaimWithdrawalRequested
from edi_gateway.service_layer.submissions import AcceptClaim, accept_claim
from edi_gateway.service_layer.withdrawals import WithdrawClaim, withdraw_claim


def build_handlers(tenants: Callable[[], TenantDirectory]) -> EventHandlers:
    async def on_claim_submitted(ctx: HandlerContext) -> None:
        await accept_claim(
            ctx.uow,
            tenants().get(ctx.tenant_id),
            AcceptClaim(
                tenant_id=ctx.tenant_id,
                event_id=ctx.event.id,
                correlation_id=ctx.event.correlationid or ctx.event.id,
                claim=cast(ClaimSubmitted, ctx.data),
            ),
        )

    async def on_claim_withdrawal_requested(ctx: HandlerContext) -> None:
        await withdraw_claim(
            ctx.uow,
            WithdrawClaim(
                tenant_id=ctx.tenant_id,
                event_id=ctx.event.id,
                correlation_id=ctx.event.correlationid or ctx.event.id,
                request=cast(ClaimWithdrawalRequested, ctx.data),
            ),
        )

    handlers = EventHandlers()
    handlers.register(CLAIM_SUBMITTED_V1, ClaimSubmitted, on_claim_submitted)
    handlers.register(
        CLAIM_WITHDRAWAL_REQUESTED_V1, ClaimWithdrawalRequested, on_claim_withdrawal_requested
    )
    return handlers
