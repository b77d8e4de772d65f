from __future__ import annotations

from charges.entrypoints.subscribers import build_handlers
from contracts.events import (
    ClaimStatusChanged,
    FacilityUpserted,
    GroupSessionClosed,
    GroupSessionReopened,
    MemberUpserted,
    ProviderUpserted,
    StayAdmitted,
    StayCorrected,
    StayDischarged,
    StayLeaveEnded,
    StayLeaveStarted,
)
from contracts.tenant import TenantConfig


def no_tenants(tenant_id: str) -> TenantConfig:
    raise AssertionError("not consulted while wiring")


def test_charges_consumes_the_ehr_feeds_session_closes_and_reopens_stays_and_claim_status() -> None:
    handlers = build_handlers(no_tenants)
    assert handlers.routing_keys == [
        "attendance.group_session.closed.v1",
        "attendance.group_session.reopened.v1",
        "claims.claim.status_changed.v1",
        "ehr.facility.upserted.v1",
        "ehr.member.upserted.v1",
        "ehr.provider.upserted.v1",
        "stays.stay.admitted.v1",
        "stays.stay.corrected.v1",
        "stays.stay.discharged.v1",
        "stays.stay.leave_ended.v1",
        "stays.stay.leave_started.v1",
    ]
    assert handlers.handlers["ehr.member.upserted.v1"][0] is MemberUpserted
    assert handlers.handlers["ehr.provider.upserted.v1"][0] is ProviderUpserted
    assert handlers.handlers["ehr.facility.upserted.v1"][0] is FacilityUpserted
    assert handlers.handlers["attendance.group_session.closed.v1"][0] is GroupSessionClosed
    assert handlers.handlers["attendance.group_session.reopened.v1"][0] is GroupSessionReopened
    assert handlers.handlers["claims.claim.status_changed.v1"][0] is ClaimStatusChanged
    assert handlers.handlers["stays.stay.admitted.v1"][0] is StayAdmitted
    assert handlers.handlers["stays.stay.leave_started.v1"][0] is StayLeaveStarted
    assert handlers.handlers["stays.stay.leave_ended.v1"][0] is StayLeaveEnded
    assert handlers.handlers["stays.stay.discharged.v1"][0] is StayDischarged
    assert handlers.handlers["stays.stay.corrected.v1"][0] is StayCorrected
