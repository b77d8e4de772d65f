"""A closed session like SPEC 12 vector 1, and the sample tenant, for the pure tests."""

from __future__ import annotations

from typing import Any

from common.testing.processes import SAMPLE_TENANTS
from contracts.events.attendance import GroupSessionClosed
from contracts.tenant import TenantConfig, load_tenant_config

DEMO: TenantConfig = load_tenant_config(SAMPLE_TENANTS / "demo-bh.yaml")

# SPEC 12 vector 1: 7 on the roster: 4 ATTENDED, 1 LATE, 1 LEFT_EARLY, 1 ABSENT.
VECTOR_1_ROSTER = [
    ("m-1", "ATTENDED"),
    ("m-2", "ATTENDED"),
    ("m-3", "ATTENDED"),
    ("m-4", "ATTENDED"),
    ("m-5", "LATE"),
    ("m-6", "LEFT_EARLY"),
    ("m-7", "ABSENT"),
]


def closed_data(
    session_id: str = "gs-1",
    *,
    roster: list[tuple[str, str]] | None = None,
    billable: tuple[str, ...] = ("ATTENDED", "LATE"),
    session_date: str = "2026-03-09",
    close_sequence: int = 1,
    supervisors: list[tuple[str, str]] | None = None,
    program_id: str = "group-therapy",
) -> dict[str, Any]:
    rows = VECTOR_1_ROSTER if roster is None else roster
    sups = (
        [("prov-ann", "ATTENDED"), ("prov-raj", "ABSENT")] if supervisors is None else supervisors
    )
    present = ("ATTENDED", "LATE", "LEFT_EARLY")
    return {
        "session_id": session_id,
        "close_sequence": close_sequence,
        "facility_id": "fac-springfield",
        "facility_state": "IL",
        "program_id": program_id,
        "session_date": session_date,
        "start_time": "09:00:00",
        "end_time": "10:30:00",
        "group_type": "PROCESS_GROUP",
        "service_code": "90853",
        "closure": "FINALIZED",
        "closed_at": f"{session_date}T16:00:00Z",
        "closed_by": "user-sup",
        "billable_statuses": list(billable),
        "roster": [{"member_id": m, "status": s} for m, s in rows],
        "billable_participants": [{"member_id": m, "status": s} for m, s in rows if s in billable],
        "supervisors": [{"provider_id": p, "status": s} for p, s in sups],
        "supervisors_present": [p for p, s in sups if s in present],
        "acknowledged_warnings": [],
    }


def closed(**kwargs: Any) -> GroupSessionClosed:
    return GroupSessionClosed.model_validate(closed_data(**kwargs))


def member_data(member_id: str, payer_id: str | None, *, start: str = "2026-01-01") -> Any:
    """An ``ehr.member.upserted`` body: a primary coverage with ``payer_id`` (none: no
    coverage at all)."""
    coverages = (
        []
        if payer_id is None
        else [
            {
                "coverage_id": f"cov-{member_id}",
                "payer_id": payer_id,
                "subscriber_id": "SUB0001",
                "relationship_to_subscriber": "18",
                "is_primary": True,
                "effective_from": start,
            }
        ]
    )
    return {
        "member_id": member_id,
        "first_name": "Pat",
        "last_name": "Doe",
        "birth_date": "1980-01-01",
        "sex": "U",
        "coverages": coverages,
    }


def reopened_data(session_id: str, close_sequence: int = 1) -> dict[str, Any]:
    return {
        "session_id": session_id,
        "close_sequence": close_sequence,
        "reopened_at": "2026-03-10T14:20:00Z",
        "reopened_by": "user-sup",
        "forced": True,
        "override_reason": "sign-in sheet corrected",
    }


def claim_status_data(
    claim_id: str,
    status: str,
    charge_ids: list[str],
    *,
    claim_version: int = 1,
    member_id: str = "m-1",
) -> dict[str, Any]:
    return {
        "claim_id": claim_id,
        "claim_version": claim_version,
        "status": status,
        "patient_control_number": "P0001",
        "member_id": member_id,
        "charge_ids": charge_ids,
    }
