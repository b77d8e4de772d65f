"""Use cases of billing code groups (SPEC 5, seed 004): create, rename, (de)activate, mark
default, delete; add and remove codes (one, several, all); assign a group's codes to one
client or staff member or to every active one; end assignments; the automatic assignment
of default groups to whoever becomes active; reading groups, the code universe and the
assignments. Each change is audited (who, when, what) in the transaction that makes it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from charges.adapters.db.code_groups_repository import CodeGroupRepository, EndedAssignments
from charges.adapters.reference import reference_billing_codes
from charges.domain.code_groups import (
    AssigneeKind,
    AssigneeNotFound,
    AssignmentCounts,
    AssignmentNotFound,
    AssignmentPeriod,
    BillingCodeGroup,
    BillingCodeGroupNotFound,
    CodeAssignment,
    CodeGroupRuleViolation,
    CodeUniverse,
    DuplicateGroupName,
    EndBeforeStart,
    UniverseCode,
    clean_group_name,
    default_since_after,
    group_name_key,
)
from charges.service_layer.corrections import (
    CodeAssignmentRecheck,
    recheck_code_assignment_charges,
)
from charges.service_layer.group_sessions import TenantLookup
from charges.service_layer.recording import EVENT_ACTOR, Provenance
from common.db import UnitOfWork, utcnow
from common.logging import get_logger

log = get_logger(__name__)


def code_universe(tenants: TenantLookup, tenant_id: str) -> CodeUniverse:
    """The codes the tenant can put in a group: the reference list plus its programs'."""
    return CodeUniverse.for_tenant(reference_billing_codes(), tenants(tenant_id))


def new_group_id() -> str:
    return f"bcg-{uuid.uuid4().hex}"


@dataclass(frozen=True)
class GroupView:
    """A group with the seed's two columns: its codes and the universe's other codes."""

    group: BillingCodeGroup
    assigned: list[UniverseCode]
    unassigned: list[UniverseCode]


def _view(group: BillingCodeGroup, universe: CodeUniverse) -> GroupView:
    assigned, unassigned = universe.split(group.codes)
    return GroupView(group, assigned, unassigned)


async def _locked_group(uow: UnitOfWork, tenant_id: str, group_id: str) -> BillingCodeGroup:
    group = await CodeGroupRepository(uow.session).get_group(tenant_id, group_id, for_update=True)
    if group is None:
        raise BillingCodeGroupNotFound(group_id)
    return group


# --------------------------------------------------------------------------- groups


@dataclass(frozen=True)
class CreateGroup:
    tenant_id: str
    name: str
    actor: str
    active: bool = True
    is_default: bool = False
    codes: tuple[str, ...] = ()


async def create_group(
    uow: UnitOfWork, tenants: TenantLookup, command: CreateGroup, *, now: datetime | None = None
) -> GroupView:
    universe = code_universe(tenants, command.tenant_id)
    name = clean_group_name(command.name)
    codes = universe.require(command.codes)
    repository = CodeGroupRepository(uow.session)
    taken = await repository.group_named(command.tenant_id, name)
    if taken is not None:
        raise DuplicateGroupName(name, taken)
    group = BillingCodeGroup(
        tenant_id=command.tenant_id,
        group_id=new_group_id(),
        name=name,
        active=command.active,
        is_default=command.is_default,
        default_since=default_since_after(None, command.is_default, now or utcnow()),
        version=1,
        codes=tuple(codes),
    )
    await repository.insert_group(group, command.actor)
    await repository.add_codes(group.tenant_id, group.group_id, codes, command.actor)
    await repository.audit(
        group.tenant_id,
        group.group_id,
        "CREATED",
        command.actor,
        {"name": name, "active": group.active, "default": group.is_default, "codes": codes},
    )
    log.info("billing_code_group_created", group_id=group.group_id, codes=len(codes))
    return _view(group, universe)


@dataclass(frozen=True)
class UpdateGroup:
    """Rename, activate or deactivate, mark or unmark default (what is None is kept)."""

    tenant_id: str
    group_id: str
    actor: str
    name: str | None = None
    active: bool | None = None
    is_default: bool | None = None


async def update_group(
    uow: UnitOfWork, tenants: TenantLookup, command: UpdateGroup, *, now: datetime | None = None
) -> GroupView:
    universe = code_universe(tenants, command.tenant_id)
    repository = CodeGroupRepository(uow.session)
    group = await _locked_group(uow, command.tenant_id, command.group_id)
    name = group.name if command.name is None else clean_group_name(command.name)
    if group_name_key(name) != group_name_key(group.name):
        taken = await repository.group_named(command.tenant_id, name)
        if taken is not None:
            raise DuplicateGroupName(name, taken)
    is_default = group.is_default if command.is_default is None else command.is_default
    after = BillingCodeGroup(
        tenant_id=group.tenant_id,
        group_id=group.group_id,
        name=name,
        active=group.active if command.active is None else command.active,
        is_default=is_default,
        default_since=default_since_after(group, is_default, now or utcnow()),
        version=group.version + 1,
        codes=group.codes,
    )
    changes = {
        field: {"from": old, "to": new}
        for field, old, new in (
            ("name", group.name, after.name),
            ("active", group.active, after.active),
            ("default", group.is_default, after.is_default),
        )
        if old != new
    }
    if not changes:
        return _view(group, universe)
    await repository.update_group(after, group.version, command.actor)
    await repository.audit(group.tenant_id, group.group_id, "UPDATED", command.actor, changes)
    return _view(after, universe)


async def delete_group(uow: UnitOfWork, tenant_id: str, group_id: str, actor: str) -> None:
    """Delete the group: it is gone from lists and can no longer be changed or assigned,
    its name is free again; the assignments made from it stay as they are."""
    group = await _locked_group(uow, tenant_id, group_id)
    repository = CodeGroupRepository(uow.session)
    await repository.delete_group(group, actor)
    await repository.audit(
        tenant_id, group_id, "DELETED", actor, {"name": group.name, "codes": list(group.codes)}
    )


async def get_group(
    session: AsyncSession, tenants: TenantLookup, tenant_id: str, group_id: str
) -> GroupView:
    group = await CodeGroupRepository(session).get_group(tenant_id, group_id)
    if group is None:
        raise BillingCodeGroupNotFound(group_id)
    return _view(group, code_universe(tenants, tenant_id))


async def list_groups(
    session: AsyncSession,
    tenant_id: str,
    *,
    active: bool | None = None,
    is_default: bool | None = None,
) -> list[BillingCodeGroup]:
    return await CodeGroupRepository(session).list_groups(
        tenant_id, active=active, is_default=is_default
    )


@dataclass(frozen=True)
class AuditEntry:
    action: str
    actor: str
    recorded_at: datetime
    details: dict[str, Any]


async def group_audit_trail(
    session: AsyncSession, tenant_id: str, group_id: str
) -> list[AuditEntry]:
    """Every change and assign / end action of the group, oldest first (a deleted group's
    too: its trail outlives it)."""
    rows = await CodeGroupRepository(session).audit_trail(tenant_id, group_id)
    if not rows:
        raise BillingCodeGroupNotFound(group_id)
    return [AuditEntry(r["action"], r["actor"], r["recorded_at"], r["details"]) for r in rows]


# --------------------------------------------------------------------------- codes


async def _changed_codes(
    uow: UnitOfWork,
    tenants: TenantLookup,
    group: BillingCodeGroup,
    actor: str,
    *,
    added: list[str] | None = None,
    removed: list[str] | None = None,
    action: str,
) -> GroupView:
    repository = CodeGroupRepository(uow.session)
    if added or removed:
        await repository.audit(
            group.tenant_id,
            group.group_id,
            action,
            actor,
            {"added": added or [], "removed": removed or []},
        )
    after = await repository.get_group(group.tenant_id, group.group_id)
    assert after is not None, "the group is locked by this transaction"
    return _view(after, code_universe(tenants, group.tenant_id))


async def add_codes(
    uow: UnitOfWork,
    tenants: TenantLookup,
    tenant_id: str,
    group_id: str,
    codes: list[str] | None,
    actor: str,
) -> GroupView:
    """Add ``codes`` (None: "Add all", every code of the universe the group lacks)."""
    universe = code_universe(tenants, tenant_id)
    group = await _locked_group(uow, tenant_id, group_id)
    wanted = [c.code for c in universe.codes] if codes is None else universe.require(codes)
    added = await CodeGroupRepository(uow.session).add_codes(tenant_id, group_id, wanted, actor)
    action = "CODES_ADDED_ALL" if codes is None else "CODES_ADDED"
    return await _changed_codes(uow, tenants, group, actor, added=added, action=action)


async def remove_codes(
    uow: UnitOfWork,
    tenants: TenantLookup,
    tenant_id: str,
    group_id: str,
    codes: list[str] | None,
    actor: str,
) -> GroupView:
    """Remove ``codes`` (None: "Remove all"). A code the group does not hold is no error;
    the assignments already made with the codes stay."""
    group = await _locked_group(uow, tenant_id, group_id)
    wanted = None if codes is None else sorted({c.strip().upper() for c in codes})
    removed = await CodeGroupRepository(uow.session).remove_codes(tenant_id, group_id, wanted)
    action = "CODES_REMOVED_ALL" if codes is None else "CODES_REMOVED"
    return await _changed_codes(uow, tenants, group, actor, removed=removed, action=action)


# --------------------------------------------------------------------------- assignments


@dataclass(frozen=True)
class AssignGroup:
    """Assign the group's codes to ``assignee_id`` (a client or a staff member, by
    ``kind``), or with None to every active client / staff member, over ``period``."""

    tenant_id: str
    group_id: str
    kind: AssigneeKind
    period: AssignmentPeriod
    actor: str
    assignee_id: str | None = None


@dataclass(frozen=True)
class AssignmentResult:
    counts: AssignmentCounts
    recheck: CodeAssignmentRecheck


async def assign_group(
    uow: UnitOfWork, tenants: TenantLookup, command: AssignGroup
) -> AssignmentResult:
    """One transaction: the assignments, their audit row, and the re-check of the charges
    that needed a fix for want of one of the group's codes (of the assignee, or of anyone
    for an "assign to all")."""
    group = await _locked_group(uow, command.tenant_id, command.group_id)
    group.require_assignable()
    repository = CodeGroupRepository(uow.session)
    if command.assignee_id is not None and not await repository.assignee_known(
        command.tenant_id, command.kind, command.assignee_id
    ):
        raise AssigneeNotFound(command.kind, command.assignee_id)
    counts = await repository.assign(
        command.tenant_id,
        command.group_id,
        command.kind,
        command.period,
        command.actor,
        assignee_id=command.assignee_id,
    )
    period = command.period
    await repository.audit(
        command.tenant_id,
        command.group_id,
        "ASSIGNED" if command.assignee_id is not None else "ASSIGNED_TO_ALL_ACTIVE",
        command.actor,
        {
            "assignee_kind": command.kind.value,
            "assignee_id": command.assignee_id,
            "effective_from": period.effective_from.isoformat(),
            "effective_through": (
                period.effective_through.isoformat() if period.effective_through else None
            ),
            "codes": list(group.codes),
            "assignees": counts.assignees,
            "assigned": counts.assigned,
            "already_assigned": counts.already_assigned,
            "skipped": counts.skipped,
        },
    )
    recheck = CodeAssignmentRecheck(0, 0, False)
    if counts.assigned:
        recheck = await recheck_code_assignment_charges(
            uow,
            tenants,
            command.tenant_id,
            Provenance(actor=command.actor, reason=f"codes assigned from group {group.group_id}"),
            kind=command.kind,
            assignee_id=command.assignee_id,
            procedure_codes=group.codes,
        )
    log.info(
        "billing_code_group_assigned",
        group_id=group.group_id,
        assignee_kind=command.kind.value,
        to_all=command.assignee_id is None,
        assignees=counts.assignees,
        assigned=counts.assigned,
        already_assigned=counts.already_assigned,
        skipped=counts.skipped,
        rechecked=recheck.checked,
    )
    return AssignmentResult(counts, recheck)


@dataclass(frozen=True)
class EndAssignments:
    """End the assignments made from a group (of one kind, of one assignee, when given)
    on ``through``, their last day in force."""

    tenant_id: str
    group_id: str
    through: date
    actor: str
    kind: AssigneeKind | None = None
    assignee_id: str | None = None


async def end_group_assignments(uow: UnitOfWork, command: EndAssignments) -> EndedAssignments:
    """Works on a deleted group too: deleting a group keeps its assignments, and this is
    the only way to undo them."""
    repository = CodeGroupRepository(uow.session)
    ended = await repository.end_assignments(
        command.tenant_id,
        command.through,
        command.actor,
        group_id=command.group_id,
        kind=command.kind,
        assignee_id=command.assignee_id,
    )
    await repository.audit(
        command.tenant_id,
        command.group_id,
        "ASSIGNMENTS_ENDED",
        command.actor,
        {
            "through": command.through.isoformat(),
            "assignee_kind": command.kind.value if command.kind else None,
            "assignee_id": command.assignee_id,
            "ended": ended.ended,
            "not_started": ended.not_started,
        },
    )
    return ended


async def end_assignment(
    uow: UnitOfWork, tenant_id: str, assignment_id: int, through: date, actor: str
) -> CodeAssignment:
    """End one assignment on ``through``; refused when that is before its first day."""
    repository = CodeGroupRepository(uow.session)
    assignment = await repository.get_assignment(tenant_id, assignment_id)
    if assignment is None:
        raise AssignmentNotFound(assignment_id)
    if through < assignment.effective_from:
        raise EndBeforeStart(assignment.effective_from, through)
    ended = await repository.end_assignments(tenant_id, through, actor, assignment_id=assignment_id)
    if ended.ended:
        await repository.audit(
            tenant_id,
            assignment.group_id or "",
            "ASSIGNMENT_ENDED",
            actor,
            {"assignment_id": assignment_id, "through": through.isoformat()},
        )
    after = await repository.get_assignment(tenant_id, assignment_id)
    assert after is not None
    return after


async def list_assignments(
    session: AsyncSession,
    tenant_id: str,
    *,
    kind: AssigneeKind | None = None,
    assignee_id: str | None = None,
    group_id: str | None = None,
    code: str | None = None,
    on: date | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[CodeAssignment]:
    return await CodeGroupRepository(session).list_assignments(
        tenant_id,
        kind=kind,
        assignee_id=assignee_id,
        group_id=group_id,
        code=code.strip().upper() if code else None,
        on=on,
        limit=limit,
        offset=offset,
    )


async def recheck_charges(
    uow: UnitOfWork,
    tenants: TenantLookup,
    tenant_id: str,
    actor: str,
    *,
    kind: AssigneeKind | None = None,
    assignee_id: str | None = None,
) -> CodeAssignmentRecheck:
    """An operator's re-check of the charges waiting for a code assignment (of one client
    or staff member: ``assignee_id`` with its ``kind``)."""
    if assignee_id is not None and kind is None:
        raise CodeGroupRuleViolation(
            "ASSIGNEE_KIND_REQUIRED", "name the assignee_kind (CLIENT or STAFF) of assignee_id"
        )
    return await recheck_code_assignment_charges(
        uow,
        tenants,
        tenant_id,
        Provenance(actor=actor, reason="code assignment re-check"),
        kind=kind,
        assignee_id=assignee_id,
    )


# --------------------------------------------------------------------------- default groups


def business_day(tenants: TenantLookup, tenant_id: str, at: datetime) -> date:
    return at.astimezone(ZoneInfo(tenants(tenant_id).time_zone)).date()


async def assign_default_groups(
    uow: UnitOfWork,
    tenants: TenantLookup,
    tenant_id: str,
    kind: AssigneeKind,
    assignee_id: str,
    became_active_at: datetime,
) -> int:
    """A client or staff member became active at ``became_active_at``: each active group
    marked default by then is assigned to them from that (business) day on, open-ended.
    Returns the assignments written."""
    repository = CodeGroupRepository(uow.session)
    group_ids = await repository.default_groups(tenant_id, became_active_at)
    if not group_ids:
        return 0
    period = AssignmentPeriod(business_day(tenants, tenant_id, became_active_at))
    written = 0
    for group_id in group_ids:
        counts = await repository.assign(
            tenant_id, group_id, kind, period, EVENT_ACTOR, assignee_id=assignee_id
        )
        written += counts.assigned
        if counts.assigned:
            await repository.audit(
                tenant_id,
                group_id,
                "ASSIGNED_AS_DEFAULT",
                EVENT_ACTOR,
                {
                    "assignee_kind": kind.value,
                    "assignee_id": assignee_id,
                    "effective_from": period.effective_from.isoformat(),
                    "assigned": counts.assigned,
                },
            )
    log.info(
        "default_code_groups_assigned",
        assignee_kind=kind.value,
        groups=len(group_ids),
        assigned=written,
    )
    return written
