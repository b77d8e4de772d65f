"""Use cases that keep the projections current from the EHR feed (members, providers,
facilities). Each runs in the unit of work of the event that carries it, inbox included.
The projections also say who is an *active* client or staff member: whom "assign to all
active" reaches, and who gets the default billing code groups when becoming active."""

from __future__ import annotations

from datetime import UTC, datetime

from charges.adapters.db.code_groups_repository import CodeGroupRepository
from charges.adapters.db.repository import ProjectionRepository
from charges.adapters.db.stays_repository import StayRepository
from charges.domain.charges import IssueCode
from charges.domain.code_groups import AssigneeKind
from charges.domain.projections import (
    Facility,
    MemberCoverage,
    ProjectionOutcome,
    Provider,
    SourceStamp,
)
from charges.service_layer.code_groups import assign_default_groups
from charges.service_layer.corrections import (
    recheck_code_assignment_charges,
    recheck_member_charges,
)
from charges.service_layer.group_sessions import TenantLookup
from charges.service_layer.recording import Provenance
from common.db import UnitOfWork
from common.logging import get_logger

log = get_logger(__name__)


def _outcome(written: bool, kind: str, record_id: str) -> ProjectionOutcome:
    outcome = ProjectionOutcome.APPLIED if written else ProjectionOutcome.STALE
    if not written:
        # Normal when a feed replays or reorders; logged for the curious, not an error.
        log.info("projection_kept_newer", projection=kind, record_id=record_id)
    return outcome


async def record_member(
    uow: UnitOfWork,
    tenant_id: str,
    member: MemberCoverage,
    stamp: SourceStamp,
    tenants: TenantLookup,
) -> ProjectionOutcome:
    """Keep the member's coverage; when it changed, re-check the member's charges that were
    waiting for coverage (they go READY now if it covers their date of service). A member
    who becomes active gets the default billing code groups, and the charges waiting for
    one of their codes are re-checked too."""
    was_active = await CodeGroupRepository(uow.session).was_active(
        tenant_id, AssigneeKind.CLIENT, member.member_id
    )
    written = await ProjectionRepository(uow.session).save_member(tenant_id, member, stamp)
    if written:
        issue_codes: tuple[str, ...] = (IssueCode.NO_ACTIVE_COVERAGE,)
        if member.active and not was_active:
            assigned = await assign_default_groups(
                uow, tenants, tenant_id, AssigneeKind.CLIENT, member.member_id, stamp.time
            )
            if assigned:
                issue_codes += (IssueCode.CODE_NOT_ASSIGNED_TO_MEMBER,)
        await recheck_member_charges(
            uow, tenants, tenant_id, member.member_id, stamp.event_id, issue_codes
        )
    return _outcome(written, "member", member.member_id)


async def record_provider(
    uow: UnitOfWork,
    tenant_id: str,
    provider: Provider,
    stamp: SourceStamp,
    tenants: TenantLookup,
) -> ProjectionOutcome:
    """Keep the provider; one who becomes active gets the default billing code groups (and
    the charges they render that waited for one of those codes are re-checked)."""
    was_active = await CodeGroupRepository(uow.session).was_active(
        tenant_id, AssigneeKind.STAFF, provider.provider_id
    )
    written = await ProjectionRepository(uow.session).save_provider(tenant_id, provider, stamp)
    if written and provider.active and not was_active:
        assigned = await assign_default_groups(
            uow, tenants, tenant_id, AssigneeKind.STAFF, provider.provider_id, stamp.time
        )
        if assigned:
            await recheck_code_assignment_charges(
                uow,
                tenants,
                tenant_id,
                Provenance(reason="default code groups assigned", event_id=stamp.event_id),
                kind=AssigneeKind.STAFF,
                assignee_id=provider.provider_id,
            )
    return _outcome(written, "provider", provider.provider_id)


#: "Due at once" for the day-charge sweep, whatever clock it runs on.
_AT_ONCE = datetime(1970, 1, 1, tzinfo=UTC)


async def record_facility(
    uow: UnitOfWork, tenant_id: str, facility: Facility, stamp: SourceStamp
) -> ProjectionOutcome:
    """Keep the facility; its open stays are looked at by the next day-charge sweep, since
    its time zone (when their days complete) may be new."""
    written = await ProjectionRepository(uow.session).save_facility(tenant_id, facility, stamp)
    if written:
        await StayRepository(uow.session).due_again_at_facility(
            tenant_id, facility.facility_id, _AT_ONCE
        )
    return _outcome(written, "facility", facility.facility_id)
