from __future__ import annotations

from charges.entrypoints.subscribers import build_handlers
from contracts.events import FacilityUpserted, MemberUpserted, ProviderUpserted


def test_charges_consumes_the_ehr_member_provider_and_facility_feeds() -> None:
    handlers = build_handlers()
    assert handlers.routing_keys == [
        "ehr.facility.upserted.v1",
        "ehr.member.upserted.v1",
        "ehr.provider.upserted.v1",
    ]
    assert handlers.handlers["ehr.member.upserted.v1"][0] is MemberUpserted
    assert handlers.handlers["ehr.provider.upserted.v1"][0] is ProviderUpserted
    assert handlers.handlers["ehr.facility.upserted.v1"][0] is FacilityUpserted
