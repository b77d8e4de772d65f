from __future__ import annotations

from claims.domain.code_sets import PatternDiagnosisCodeSet
from claims.entrypoints.subscribers import build_handlers
from claims.service_layer.dependencies import ClaimsDependencies
from common.tenants import TenantNotConfigured
from contracts.tenant import TenantConfig


def _no_tenant(tenant_id: str) -> TenantConfig:
    raise TenantNotConfigured(tenant_id)


DEPS = ClaimsDependencies(tenant_config=_no_tenant, diagnoses=PatternDiagnosisCodeSet())


def test_claims_consumes_charges_ehr_records_stay_events_and_edi_acknowledgments() -> None:
    handlers = build_handlers(DEPS)
    assert handlers.routing_keys == [
        "charges.charges.recorded.v1",
        "charges.stay.charged.v1",
        "edi.claim.accepted.v1",
        "edi.claim.rejected.v1",
        "edi.claim.transmitted.v1",
        "edi.claim.withdrawal_answered.v1",
        "ehr.facility.upserted.v1",
        "ehr.member.upserted.v1",
        "ehr.provider.upserted.v1",
        "stays.stay.admitted.v1",
        "stays.stay.corrected.v1",
        "stays.stay.discharged.v1",
        "stays.stay.leave_ended.v1",
        "stays.stay.leave_started.v1",
    ]


def test_each_stay_event_updates_the_one_stay_context() -> None:
    handlers = build_handlers(DEPS)
    stay_handlers = {h for key, (_, h) in handlers.handlers.items() if key.startswith("stays.")}
    assert len(stay_handlers) == 1  # one handler: every event carries the whole stay
