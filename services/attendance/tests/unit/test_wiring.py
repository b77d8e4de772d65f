"""The service's tables of codes and handlers agree with the domain and the contracts."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from attendance.domain import errors
from attendance.entrypoints.http import DOMAIN_STATUSES
from attendance.entrypoints.subscribers import build_handlers
from attendance.service_layer.sessions import REJECTION_CODES
from attendance.settings import AttendanceSettings
from contracts.events import (
    CLAIM_STATUS_CHANGED_V1,
    FACILITY_UPSERTED_V1,
    GROUP_SESSION_ATTENDANCE_MARKED_V1,
    GROUP_SESSION_CANCELLED_V1,
    GROUP_SESSION_CHARGED_V1,
    GROUP_SESSION_SCHEDULED_V1,
    GROUP_SESSION_UPDATED_V1,
    MEMBER_UPSERTED_V1,
    ClaimStatusChanged,
    MarkRejectionCode,
    data_model_for,
)

CODES = {value for name, value in vars(errors).items() if name.isupper() and isinstance(value, str)}


def test_every_domain_code_has_an_http_status() -> None:
    assert set(DOMAIN_STATUSES) == CODES


def test_an_illegal_transition_is_a_409_and_an_unknown_session_a_404() -> None:
    assert DOMAIN_STATUSES["ILLEGAL_TRANSITION"] == 409
    assert DOMAIN_STATUSES["SESSION_UNKNOWN"] == 404


def test_the_consumer_takes_the_feed_coverage_charges_and_claims_with_contract_models() -> None:
    handlers = build_handlers()
    assert handlers.routing_keys == sorted(
        [
            GROUP_SESSION_SCHEDULED_V1,
            GROUP_SESSION_UPDATED_V1,
            GROUP_SESSION_CANCELLED_V1,
            GROUP_SESSION_ATTENDANCE_MARKED_V1,
            MEMBER_UPSERTED_V1,
            FACILITY_UPSERTED_V1,
            GROUP_SESSION_CHARGED_V1,
            CLAIM_STATUS_CHANGED_V1,
        ]
    )
    for event_type, (model, _) in handlers.handlers.items():
        assert data_model_for(event_type) is model


def _status_change(**source: object) -> ClaimStatusChanged:
    return ClaimStatusChanged.model_validate(
        {
            "claim_id": "claim-1",
            "claim_version": 1,
            "status": "SUBMITTED",
            "patient_control_number": "PCN1",
            "member_id": "member-1",
            "charge_ids": ["charge-1"],
            "source": source,
        }
    )


def test_a_stay_claims_status_is_not_attendances_and_costs_no_transaction() -> None:
    handlers = build_handlers()
    stay_claim = _status_change(stay_id="stay-1")
    group_claim = _status_change(session_ids=["session-1"])
    # A group claim whose replacement dropped every session still names none: it may still
    # hold (release) a session's charges, found by charge id.
    emptied_group_claim = _status_change()
    assert not handlers.applies(CLAIM_STATUS_CHANGED_V1, stay_claim)
    assert handlers.applies(CLAIM_STATUS_CHANGED_V1, group_claim)
    assert handlers.applies(CLAIM_STATUS_CHANGED_V1, emptied_group_claim)
    assert set(handlers.filters) == {CLAIM_STATUS_CHANGED_V1}


def test_every_refusal_of_a_mark_maps_to_a_contract_rejection_code() -> None:
    assert set(REJECTION_CODES.values()) <= set(MarkRejectionCode)
    assert errors.VERSION_CONFLICT not in REJECTION_CODES  # the feed sends no version
    assert REJECTION_CODES[errors.LOCKED] is MarkRejectionCode.LOCKED


def test_settings_name_the_service_and_its_port() -> None:
    settings = AttendanceSettings(jwt_secret="x")
    assert (settings.service_name, settings.http_port, settings.db_schema) == (
        "attendance",
        8001,
        "attendance",
    )


def test_an_unknown_business_time_zone_is_refused_at_start() -> None:
    with pytest.raises(ValidationError):
        AttendanceSettings(jwt_secret="x", business_time_zone="Mars/Olympus")
