from __future__ import annotations

from claims.entrypoints.subscribers import build_handlers, on_stay_changed


def test_claims_consumes_the_ehr_records_and_every_canonical_stay_event() -> None:
    handlers = build_handlers()
    assert handlers.routing_keys == [
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
    handlers = build_handlers()
    stay_handlers = {h for key, (_, h) in handlers.handlers.items() if key.startswith("stays.")}
    assert stay_handlers == {on_stay_changed}
