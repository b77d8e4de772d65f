from __future__ import annotations

from common.tenants import TenantDirectory
from common.testing.processes import SAMPLE_TENANTS
from contracts.events.claims import ClaimSubmitted, ClaimWithdrawalRequested
from edi_gateway.entrypoints.subscribers import build_handlers


def _tenants() -> TenantDirectory:
    return TenantDirectory.load(SAMPLE_TENANTS)


def test_the_gateway_consumes_submitted_claims_and_withdrawal_requests() -> None:
    handlers = build_handlers(_tenants)
    assert handlers.routing_keys == [
        "claims.claim.submitted.v1",
        "claims.claim.withdrawal_requested.v1",
    ]
    assert handlers.handlers["claims.claim.submitted.v1"][0] is ClaimSubmitted
    assert handlers.handlers["claims.claim.withdrawal_requested.v1"][0] is (
        ClaimWithdrawalRequested
    )
