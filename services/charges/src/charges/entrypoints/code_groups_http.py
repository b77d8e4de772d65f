"""HTTP API of billing code groups (SPEC 5, seed 004). Routes translate: request in, use
case, response out. Reading needs ``billing.claim.read``, changing ``billing.claim.write``
(the charges API's scopes); the token's subject is recorded as who made each change."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, Field

from charges.domain.code_groups import (
    MAX_GROUP_NAME,
    AssigneeKind,
    AssignmentPeriod,
    BillingCodeGroup,
    CodeAssignment,
    CodeSource,
    UniverseCode,
)
from charges.service_layer.code_groups import (
    AssignGroup,
    AssignmentResult,
    CreateGroup,
    EndAssignments,
    GroupView,
    UpdateGroup,
    add_codes,
    assign_group,
    code_universe,
    create_group,
    delete_group,
    end_assignment,
    end_group_assignments,
    get_group,
    group_audit_trail,
    list_assignments,
    list_groups,
    recheck_charges,
    remove_codes,
    update_group,
)
from charges.service_layer.corrections import CodeAssignmentRecheck
from common.http import Principal, require_scopes
from common.runtime import ServiceRuntime
from contracts.tenant import TenantConfig

CLAIM_READ = "billing.claim.read"
CLAIM_WRITE = "billing.claim.write"

router = APIRouter(prefix="/v1")

GROUPS = "billing code groups"
ASSIGNMENTS = "code assignments"

# The codes of these rules and the HTTP status each answers (merged into DOMAIN_STATUSES).
CODE_GROUP_STATUSES: dict[str, int] = {
    "BILLING_CODE_GROUP_NOT_FOUND": 404,
    "CODE_ASSIGNMENT_NOT_FOUND": 404,
    "PROVIDER_NOT_FOUND": 404,
    "DUPLICATE_GROUP_NAME": 409,
    "GROUP_INACTIVE": 409,
    "UNKNOWN_BILLING_CODE": 422,
    "END_BEFORE_START": 422,
    "ASSIGNEE_KIND_REQUIRED": 422,
    "GROUP_NAME_REQUIRED": 422,
    "GROUP_NAME_TOO_LONG": 422,
}

Read = Annotated[Principal, Depends(require_scopes(CLAIM_READ))]
Write = Annotated[Principal, Depends(require_scopes(CLAIM_WRITE))]
Code = Annotated[str, Field(min_length=1, max_length=10, examples=["90837"])]


def _runtime(request: Request) -> ServiceRuntime:
    runtime: ServiceRuntime = request.app.state.runtime
    return runtime


def _tenants(request: Request) -> Callable[[str], TenantConfig]:
    return _runtime(request).tenants.get


# --------------------------------------------------------------------------- models


class BillingCodeOut(BaseModel):
    code: str
    kind: str = Field(description="CPT or HCPCS")
    description: str | None
    nonbillable: bool = Field(
        description="commonly documented as a nonbillable service (informational)"
    )
    sources: list[CodeSource] = Field(
        description="REFERENCE: the list shipped with the service; PROGRAM: a service code "
        "of one of the tenant's programs"
    )


class BillingCodesOut(BaseModel):
    items: list[BillingCodeOut]


class GroupSummaryOut(BaseModel):
    group_id: str
    name: str
    active: bool
    default: bool
    default_since: datetime | None = Field(
        description="when the group was marked default: who becomes active from then on "
        "gets it automatically"
    )
    version: int
    codes: list[str]


class GroupOut(GroupSummaryOut):
    assigned_codes: list[BillingCodeOut] = Field(description="the codes the group holds")
    unassigned_codes: list[BillingCodeOut] = Field(
        description="the tenant's other billing codes (what 'add all' would add)"
    )


class GroupList(BaseModel):
    items: list[GroupSummaryOut]


class CreateGroupIn(BaseModel):
    name: str = Field(min_length=1, max_length=MAX_GROUP_NAME, examples=["BCBS Auth Group"])
    active: bool = True
    default: bool = Field(
        default=False, description="assign automatically to whoever becomes active from now on"
    )
    codes: list[Code] = Field(default_factory=list, max_length=500)


class UpdateGroupIn(BaseModel):
    """What is left out is kept."""

    name: str | None = Field(default=None, min_length=1, max_length=MAX_GROUP_NAME)
    active: bool | None = None
    default: bool | None = None


class CodesIn(BaseModel):
    codes: list[Code] = Field(min_length=1, max_length=500)


class PeriodIn(BaseModel):
    effective_from: date = Field(description="first day in force")
    effective_through: date | None = Field(
        default=None, description="last day in force (inclusive); open-ended when absent"
    )

    def period(self) -> AssignmentPeriod:
        return AssignmentPeriod(self.effective_from, self.effective_through)


class AssignIn(PeriodIn):
    assignee_kind: AssigneeKind = Field(description="CLIENT (a member) or STAFF (a provider)")
    assignee_id: str = Field(min_length=1, max_length=64)


class RecheckOut(BaseModel):
    checked: int = Field(description="charges needing a fix for a code assignment, re-checked")
    changed: int = Field(description="of those, re-priced (READY now, or other issues left)")
    more: bool = Field(description="more such charges wait: ask for a re-check again")


class AssignmentCountsOut(BaseModel):
    """Counted per (client or staff member, code)."""

    assignees: int = Field(description="clients or staff members considered")
    codes: int = Field(description="codes the group holds")
    assigned: int = Field(description="assignments written by this request")
    already_assigned: int = Field(description="an assignment with these very dates existed")
    skipped: int = Field(description="another assignment of the code covers the whole period")
    recheck: RecheckOut


class EndAssignmentsIn(BaseModel):
    through: date = Field(
        description="the last day the assignments are in force; one that starts later is "
        "ended before its first day (never in force)"
    )
    assignee_kind: AssigneeKind | None = None
    assignee_id: str | None = Field(default=None, min_length=1, max_length=64)


class EndedOut(BaseModel):
    ended: int
    not_started: int = Field(description="of those, the ones that had not started (withdrawn)")


class EndOneIn(BaseModel):
    through: date = Field(description="the last day the assignment is in force")


class AssignmentOut(BaseModel):
    assignment_id: int
    assignee_kind: AssigneeKind
    assignee_id: str
    code: str
    effective_from: date
    effective_through: date | None
    group_id: str | None = Field(description="the group it was assigned from")
    assigned_by: str
    assigned_at: datetime
    ended_by: str | None
    ended_at: datetime | None


class AssignmentList(BaseModel):
    items: list[AssignmentOut]


class AuditEntryOut(BaseModel):
    action: str
    actor: str
    recorded_at: datetime
    details: dict[str, Any]


class AuditTrailOut(BaseModel):
    items: list[AuditEntryOut]


class RecheckIn(BaseModel):
    assignee_kind: AssigneeKind | None = Field(
        default=None, description="CLIENT: member issues; STAFF: rendering staff; none: both"
    )
    assignee_id: str | None = Field(default=None, min_length=1, max_length=64)


def _code_out(code: UniverseCode) -> BillingCodeOut:
    return BillingCodeOut(
        code=code.code,
        kind=code.kind,
        description=code.description,
        nonbillable=code.nonbillable,
        sources=list(code.sources),
    )


def _summary(group: BillingCodeGroup) -> GroupSummaryOut:
    return GroupSummaryOut(
        group_id=group.group_id,
        name=group.name,
        active=group.active,
        default=group.is_default,
        default_since=group.default_since,
        version=group.version,
        codes=list(group.codes),
    )


def _group_out(view: GroupView) -> GroupOut:
    return GroupOut(
        **_summary(view.group).model_dump(),
        assigned_codes=[_code_out(c) for c in view.assigned],
        unassigned_codes=[_code_out(c) for c in view.unassigned],
    )


def _recheck_out(recheck: CodeAssignmentRecheck) -> RecheckOut:
    return RecheckOut(checked=recheck.checked, changed=recheck.changed, more=recheck.more)


def _counts_out(result: AssignmentResult) -> AssignmentCountsOut:
    counts = result.counts
    return AssignmentCountsOut(
        assignees=counts.assignees,
        codes=counts.codes,
        assigned=counts.assigned,
        already_assigned=counts.already_assigned,
        skipped=counts.skipped,
        recheck=_recheck_out(result.recheck),
    )


def _assignment_out(a: CodeAssignment) -> AssignmentOut:
    return AssignmentOut(
        assignment_id=a.assignment_id,
        assignee_kind=a.assignee_kind,
        assignee_id=a.assignee_id,
        code=a.code,
        effective_from=a.effective_from,
        effective_through=a.effective_through,
        group_id=a.group_id,
        assigned_by=a.assigned_by,
        assigned_at=a.assigned_at,
        ended_by=a.ended_by,
        ended_at=a.ended_at,
    )


# --------------------------------------------------------------------------- codes, groups


@router.get(
    "/billing-codes",
    response_model=BillingCodesOut,
    tags=[GROUPS],
    summary="The tenant's billing codes: what a group can hold",
)
async def get_billing_codes(request: Request, principal: Read) -> BillingCodesOut:
    universe = code_universe(_tenants(request), principal.tenant_id)
    return BillingCodesOut(items=[_code_out(c) for c in universe.codes])


@router.get("/billing-code-groups", response_model=GroupList, tags=[GROUPS], summary="List groups")
async def get_groups(
    request: Request,
    principal: Read,
    active: bool | None = None,
    default: bool | None = None,
) -> GroupList:
    """The tenant's groups that are not deleted, by name."""
    async with _runtime(request).sessionmaker() as session:
        groups = await list_groups(session, principal.tenant_id, active=active, is_default=default)
    return GroupList(items=[_summary(g) for g in groups])


@router.post(
    "/billing-code-groups",
    response_model=GroupOut,
    status_code=201,
    tags=[GROUPS],
    summary="Create a group (name unique per tenant, case aside), with its codes",
    responses={
        409: {"description": "DUPLICATE_GROUP_NAME"},
        422: {"description": "UNKNOWN_BILLING_CODE"},
    },
)
async def post_group(body: CreateGroupIn, request: Request, principal: Write) -> GroupOut:
    command = CreateGroup(
        tenant_id=principal.tenant_id,
        name=body.name,
        actor=principal.subject,
        active=body.active,
        is_default=body.default,
        codes=tuple(body.codes),
    )
    async with _runtime(request).unit_of_work() as uow:
        view = await create_group(uow, _tenants(request), command)
        await uow.commit()
    return _group_out(view)


@router.get(
    "/billing-code-groups/{group_id}",
    response_model=GroupOut,
    tags=[GROUPS],
    summary="One group, with its assigned and unassigned codes",
)
async def get_one_group(group_id: str, request: Request, principal: Read) -> GroupOut:
    async with _runtime(request).sessionmaker() as session:
        view = await get_group(session, _tenants(request), principal.tenant_id, group_id)
    return _group_out(view)


@router.patch(
    "/billing-code-groups/{group_id}",
    response_model=GroupOut,
    tags=[GROUPS],
    summary="Rename a group, (de)activate it, mark or unmark it default",
    responses={409: {"description": "DUPLICATE_GROUP_NAME"}},
)
async def patch_group(
    group_id: str, body: UpdateGroupIn, request: Request, principal: Write
) -> GroupOut:
    command = UpdateGroup(
        tenant_id=principal.tenant_id,
        group_id=group_id,
        actor=principal.subject,
        name=body.name,
        active=body.active,
        is_default=body.default,
    )
    async with _runtime(request).unit_of_work() as uow:
        view = await update_group(uow, _tenants(request), command)
        await uow.commit()
    return _group_out(view)


@router.delete(
    "/billing-code-groups/{group_id}",
    status_code=204,
    tags=[GROUPS],
    summary="Delete a group (the assignments made from it stay)",
)
async def delete_one_group(group_id: str, request: Request, principal: Write) -> Response:
    async with _runtime(request).unit_of_work() as uow:
        await delete_group(uow, principal.tenant_id, group_id, principal.subject)
        await uow.commit()
    return Response(status_code=204)


@router.post(
    "/billing-code-groups/{group_id}/codes",
    response_model=GroupOut,
    tags=[GROUPS],
    summary="Add codes to a group",
    responses={422: {"description": "UNKNOWN_BILLING_CODE"}},
)
async def post_codes(group_id: str, body: CodesIn, request: Request, principal: Write) -> GroupOut:
    async with _runtime(request).unit_of_work() as uow:
        view = await add_codes(
            uow, _tenants(request), principal.tenant_id, group_id, body.codes, principal.subject
        )
        await uow.commit()
    return _group_out(view)


@router.post(
    "/billing-code-groups/{group_id}/codes/add-all",
    response_model=GroupOut,
    tags=[GROUPS],
    summary="Add all: every unassigned code joins the group",
)
async def post_add_all(group_id: str, request: Request, principal: Write) -> GroupOut:
    async with _runtime(request).unit_of_work() as uow:
        view = await add_codes(
            uow, _tenants(request), principal.tenant_id, group_id, None, principal.subject
        )
        await uow.commit()
    return _group_out(view)


@router.post(
    "/billing-code-groups/{group_id}/codes/remove-all",
    response_model=GroupOut,
    tags=[GROUPS],
    summary="Remove all: the group holds no code (assignments made stay)",
)
async def post_remove_all(group_id: str, request: Request, principal: Write) -> GroupOut:
    async with _runtime(request).unit_of_work() as uow:
        view = await remove_codes(
            uow, _tenants(request), principal.tenant_id, group_id, None, principal.subject
        )
        await uow.commit()
    return _group_out(view)


@router.delete(
    "/billing-code-groups/{group_id}/codes/{code}",
    response_model=GroupOut,
    tags=[GROUPS],
    summary="Remove one code from a group (assignments made stay)",
)
async def delete_code(group_id: str, code: str, request: Request, principal: Write) -> GroupOut:
    async with _runtime(request).unit_of_work() as uow:
        view = await remove_codes(
            uow, _tenants(request), principal.tenant_id, group_id, [code], principal.subject
        )
        await uow.commit()
    return _group_out(view)


@router.get(
    "/billing-code-groups/{group_id}/audit",
    response_model=AuditTrailOut,
    tags=[GROUPS],
    summary="Who changed or assigned the group, when, and what (append-only)",
)
async def get_audit(group_id: str, request: Request, principal: Read) -> AuditTrailOut:
    async with _runtime(request).sessionmaker() as session:
        trail = await group_audit_trail(session, principal.tenant_id, group_id)
    return AuditTrailOut(
        items=[
            AuditEntryOut(
                action=e.action, actor=e.actor, recorded_at=e.recorded_at, details=e.details
            )
            for e in trail
        ]
    )


# --------------------------------------------------------------------------- assignments


async def _assign(request: Request, command: AssignGroup) -> AssignmentCountsOut:
    runtime = _runtime(request)
    async with runtime.unit_of_work() as uow:
        result = await assign_group(uow, _tenants(request), command)
        await uow.commit()
    runtime.relay.wake()
    return _counts_out(result)


_ASSIGN_REFUSALS: dict[int | str, dict[str, Any]] = {
    404: {"description": "BILLING_CODE_GROUP_NOT_FOUND, MEMBER_NOT_FOUND, PROVIDER_NOT_FOUND"},
    409: {"description": "GROUP_INACTIVE"},
    422: {"description": "END_BEFORE_START"},
}


@router.post(
    "/billing-code-groups/{group_id}/assignments",
    response_model=AssignmentCountsOut,
    tags=[ASSIGNMENTS],
    summary="Assign the group's codes to one client or staff member, with effective dates",
    responses=_ASSIGN_REFUSALS,
)
async def post_assignment(
    group_id: str, body: AssignIn, request: Request, principal: Write
) -> AssignmentCountsOut:
    return await _assign(
        request,
        AssignGroup(
            tenant_id=principal.tenant_id,
            group_id=group_id,
            kind=body.assignee_kind,
            period=body.period(),
            actor=principal.subject,
            assignee_id=body.assignee_id,
        ),
    )


@router.post(
    "/billing-code-groups/{group_id}/assign-to-all-active-clients",
    response_model=AssignmentCountsOut,
    tags=[ASSIGNMENTS],
    summary="Assign to all active clients (one transaction; repeat-safe; undone only by "
    "ending the assignments)",
    responses=_ASSIGN_REFUSALS,
)
async def post_assign_all_clients(
    group_id: str, body: PeriodIn, request: Request, principal: Write
) -> AssignmentCountsOut:
    return await _assign(
        request,
        AssignGroup(
            tenant_id=principal.tenant_id,
            group_id=group_id,
            kind=AssigneeKind.CLIENT,
            period=body.period(),
            actor=principal.subject,
        ),
    )


@router.post(
    "/billing-code-groups/{group_id}/assign-to-all-active-users",
    response_model=AssignmentCountsOut,
    tags=[ASSIGNMENTS],
    summary="Assign to all active users (staff) (one transaction; repeat-safe; undone only "
    "by ending the assignments)",
    responses=_ASSIGN_REFUSALS,
)
async def post_assign_all_users(
    group_id: str, body: PeriodIn, request: Request, principal: Write
) -> AssignmentCountsOut:
    return await _assign(
        request,
        AssignGroup(
            tenant_id=principal.tenant_id,
            group_id=group_id,
            kind=AssigneeKind.STAFF,
            period=body.period(),
            actor=principal.subject,
        ),
    )


@router.post(
    "/billing-code-groups/{group_id}/assignments/end",
    response_model=EndedOut,
    tags=[ASSIGNMENTS],
    summary="End the assignments made from the group (of one kind or assignee when given)",
)
async def post_end_assignments(
    group_id: str, body: EndAssignmentsIn, request: Request, principal: Write
) -> EndedOut:
    command = EndAssignments(
        tenant_id=principal.tenant_id,
        group_id=group_id,
        through=body.through,
        actor=principal.subject,
        kind=body.assignee_kind,
        assignee_id=body.assignee_id,
    )
    async with _runtime(request).unit_of_work() as uow:
        ended = await end_group_assignments(uow, command)
        await uow.commit()
    return EndedOut(ended=ended.ended, not_started=ended.not_started)


@router.get(
    "/code-assignments",
    response_model=AssignmentList,
    tags=[ASSIGNMENTS],
    summary="Code assignments, with who assigned or ended each and when",
)
async def get_assignments(
    request: Request,
    principal: Read,
    assignee_kind: AssigneeKind | None = None,
    assignee_id: str | None = None,
    group_id: str | None = None,
    code: str | None = None,
    on: Annotated[date | None, Query(description="only those in force on this date")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> AssignmentList:
    async with _runtime(request).sessionmaker() as session:
        items = await list_assignments(
            session,
            principal.tenant_id,
            kind=assignee_kind,
            assignee_id=assignee_id,
            group_id=group_id,
            code=code,
            on=on,
            limit=limit,
            offset=offset,
        )
    return AssignmentList(items=[_assignment_out(a) for a in items])


@router.post(
    "/code-assignments/{assignment_id}/end",
    response_model=AssignmentOut,
    tags=[ASSIGNMENTS],
    summary="End one assignment",
    responses={
        404: {"description": "CODE_ASSIGNMENT_NOT_FOUND"},
        422: {"description": "END_BEFORE_START"},
    },
)
async def post_end_one(
    assignment_id: int, body: EndOneIn, request: Request, principal: Write
) -> AssignmentOut:
    async with _runtime(request).unit_of_work() as uow:
        assignment = await end_assignment(
            uow, principal.tenant_id, assignment_id, body.through, principal.subject
        )
        await uow.commit()
    return _assignment_out(assignment)


@router.post(
    "/charges/code-assignment-recheck",
    response_model=RecheckOut,
    tags=["charges"],
    summary="Re-check the charges that need a fix for want of a code assignment",
)
async def post_recheck(body: RecheckIn, request: Request, principal: Write) -> RecheckOut:
    runtime = _runtime(request)
    async with runtime.unit_of_work() as uow:
        recheck = await recheck_charges(
            uow,
            _tenants(request),
            principal.tenant_id,
            principal.subject,
            kind=body.assignee_kind,
            assignee_id=body.assignee_id,
        )
        await uow.commit()
    runtime.relay.wake()
    return _recheck_out(recheck)
