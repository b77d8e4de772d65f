"""Billing code groups, their codes and the code assignments, in the charges schema. Every
query names the tenant.

Assigning is set-based: one ``INSERT .. SELECT .. ON CONFLICT DO NOTHING`` writes the
assignments of every (assignee, code) pair at once, whatever the number of clients, and
the same statement counts what it wrote, what was there already and what it skipped."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    Date,
    RowMapping,
    String,
    Table,
    and_,
    case,
    delete,
    exists,
    func,
    literal,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from charges.adapters.db.tables import (
    BILLING_CODE_GROUP,
    BILLING_CODE_GROUP_AUDIT,
    BILLING_CODE_GROUP_CODE,
    CODE_ASSIGNMENT,
    MEMBER,
    PROVIDER,
)
from charges.domain.code_groups import (
    AssigneeKind,
    AssignmentCounts,
    AssignmentPeriod,
    BillingCodeGroup,
    CodeAssignment,
    CodeAssignmentFacts,
    DuplicateGroupName,
    group_name_key,
)

_NAME_INDEX = "uq_billing_code_group_name"


class ConcurrentGroupChange(Exception):
    """Another writer saved a newer version of the group first; retry the transaction."""


def _assignees(kind: AssigneeKind) -> tuple[Table, Any]:
    """The projection that says who is active: members for clients, providers for staff."""
    if kind is AssigneeKind.CLIENT:
        return MEMBER, MEMBER.c.member_id
    return PROVIDER, PROVIDER.c.provider_id


def _assignment(row: RowMapping) -> CodeAssignment:
    return CodeAssignment(
        assignment_id=row["id"],
        tenant_id=row["tenant_id"],
        assignee_kind=AssigneeKind(row["assignee_kind"]),
        assignee_id=row["assignee_id"],
        code=row["code"],
        effective_from=row["effective_from"],
        effective_through=row["effective_through"],
        group_id=row["group_id"],
        assigned_by=row["assigned_by"],
        assigned_at=row["assigned_at"],
        ended_by=row["ended_by"],
        ended_at=row["ended_at"],
    )


@dataclass(frozen=True)
class EndedAssignments:
    ended: int  # assignments whose last day is now the end date (or the day before start)
    not_started: int  # of those, the ones that had not started: never in force now


class CodeGroupRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    # ------------------------------------------------------------------ groups

    async def _codes_of(self, tenant_id: str, group_ids: Collection[str]) -> dict[str, list[str]]:
        codes: dict[str, list[str]] = {group_id: [] for group_id in group_ids}
        if not codes:
            return codes
        c = BILLING_CODE_GROUP_CODE.c
        rows = await self._session.execute(
            select(c.group_id, c.code)
            .where(c.tenant_id == tenant_id, c.group_id.in_(sorted(codes)))
            .order_by(c.group_id, c.code)
        )
        for group_id, code in rows:
            codes[group_id].append(code)
        return codes

    @staticmethod
    def _group(row: RowMapping, codes: list[str]) -> BillingCodeGroup:
        return BillingCodeGroup(
            tenant_id=row["tenant_id"],
            group_id=row["group_id"],
            name=row["name"],
            active=row["active"],
            is_default=row["is_default"],
            default_since=row["default_since"],
            version=row["group_version"],
            codes=tuple(codes),
        )

    async def get_group(
        self, tenant_id: str, group_id: str, *, for_update: bool = False
    ) -> BillingCodeGroup | None:
        """The group unless deleted (locked until commit with ``for_update``)."""
        g = BILLING_CODE_GROUP.c
        query = select(BILLING_CODE_GROUP).where(
            g.tenant_id == tenant_id, g.group_id == group_id, g.deleted_at.is_(None)
        )
        if for_update:
            query = query.with_for_update()
        row = (await self._session.execute(query)).mappings().first()
        if row is None:
            return None
        codes = await self._codes_of(tenant_id, [group_id])
        return self._group(row, codes[group_id])

    async def list_groups(
        self, tenant_id: str, *, active: bool | None = None, is_default: bool | None = None
    ) -> list[BillingCodeGroup]:
        g = BILLING_CODE_GROUP.c
        query = select(BILLING_CODE_GROUP).where(g.tenant_id == tenant_id, g.deleted_at.is_(None))
        if active is not None:
            query = query.where(g.active.is_(active))
        if is_default is not None:
            query = query.where(g.is_default.is_(is_default))
        rows = (await self._session.execute(query.order_by(g.name_key))).mappings().all()
        codes = await self._codes_of(tenant_id, [r["group_id"] for r in rows])
        return [self._group(r, codes[r["group_id"]]) for r in rows]

    async def group_named(self, tenant_id: str, name: str) -> str | None:
        """The id of the live group with this name (case and spacing aside), if any."""
        g = BILLING_CODE_GROUP.c
        return (
            await self._session.execute(
                select(g.group_id).where(
                    g.tenant_id == tenant_id,
                    g.name_key == group_name_key(name),
                    g.deleted_at.is_(None),
                )
            )
        ).scalar_one_or_none()

    async def _write_named(self, statement: Any, group: BillingCodeGroup) -> Any:
        """Run an insert or update of a group; a name another live group took meanwhile
        (the unique index decides) is DUPLICATE_GROUP_NAME, not a crash."""
        try:
            async with self._session.begin_nested():
                return await self._session.execute(statement)
        except IntegrityError as exc:
            if _NAME_INDEX not in str(exc.orig):
                raise
            other = await self.group_named(group.tenant_id, group.name)
            raise DuplicateGroupName(group.name, other) from exc

    async def insert_group(self, group: BillingCodeGroup, actor: str) -> None:
        await self._write_named(
            insert(BILLING_CODE_GROUP).values(
                tenant_id=group.tenant_id,
                group_id=group.group_id,
                name=group.name,
                name_key=group_name_key(group.name),
                active=group.active,
                is_default=group.is_default,
                default_since=group.default_since,
                group_version=group.version,
                created_by=actor,
                updated_by=actor,
            ),
            group,
        )

    async def update_group(
        self, group: BillingCodeGroup, previous_version: int, actor: str
    ) -> None:
        g = BILLING_CODE_GROUP.c
        result = await self._write_named(
            update(BILLING_CODE_GROUP)
            .where(
                g.tenant_id == group.tenant_id,
                g.group_id == group.group_id,
                g.group_version == previous_version,
                g.deleted_at.is_(None),
            )
            .values(
                name=group.name,
                name_key=group_name_key(group.name),
                active=group.active,
                is_default=group.is_default,
                default_since=group.default_since,
                group_version=group.version,
                updated_by=actor,
                updated_at=func.now(),
            )
            .returning(g.id),
            group,
        )
        if result.first() is None:
            raise ConcurrentGroupChange(group.group_id)

    async def delete_group(self, group: BillingCodeGroup, actor: str) -> None:
        """Mark the group deleted; its codes and every assignment made from it stay."""
        g = BILLING_CODE_GROUP.c
        await self._session.execute(
            update(BILLING_CODE_GROUP)
            .where(g.tenant_id == group.tenant_id, g.group_id == group.group_id)
            .values(
                deleted_at=func.now(),
                deleted_by=actor,
                group_version=group.version + 1,
                updated_by=actor,
                updated_at=func.now(),
            )
        )

    async def add_codes(
        self, tenant_id: str, group_id: str, codes: Sequence[str], actor: str
    ) -> list[str]:
        """Put ``codes`` in the group; returns those it did not hold yet."""
        if not codes:
            return []
        rows = await self._session.execute(
            insert(BILLING_CODE_GROUP_CODE)
            .values(
                [
                    {"tenant_id": tenant_id, "group_id": group_id, "code": code, "added_by": actor}
                    for code in codes
                ]
            )
            .on_conflict_do_nothing(constraint="uq_billing_code_group_code_group_code")
            .returning(BILLING_CODE_GROUP_CODE.c.code)
        )
        return sorted(rows.scalars())

    async def remove_codes(
        self, tenant_id: str, group_id: str, codes: Sequence[str] | None
    ) -> list[str]:
        """Take ``codes`` (None: every code) out of the group; returns those it held.
        Assignments already made with them are not touched."""
        c = BILLING_CODE_GROUP_CODE.c
        statement = delete(BILLING_CODE_GROUP_CODE).where(
            c.tenant_id == tenant_id, c.group_id == group_id
        )
        if codes is not None:
            statement = statement.where(c.code.in_(list(codes)))
        rows = await self._session.execute(statement.returning(c.code))
        return sorted(rows.scalars())

    async def audit(
        self, tenant_id: str, group_id: str, action: str, actor: str, details: dict[str, Any]
    ) -> None:
        await self._session.execute(
            insert(BILLING_CODE_GROUP_AUDIT).values(
                tenant_id=tenant_id, group_id=group_id, action=action, actor=actor, details=details
            )
        )

    async def audit_trail(self, tenant_id: str, group_id: str) -> Sequence[RowMapping]:
        a = BILLING_CODE_GROUP_AUDIT.c
        query = (
            select(BILLING_CODE_GROUP_AUDIT)
            .where(a.tenant_id == tenant_id, a.group_id == group_id)
            .order_by(a.id)
        )
        return (await self._session.execute(query)).mappings().all()

    # ------------------------------------------------------------------ assignees

    async def assignee_known(self, tenant_id: str, kind: AssigneeKind, assignee_id: str) -> bool:
        table, id_column = _assignees(kind)
        found = await self._session.execute(
            select(table.c.id).where(table.c.tenant_id == tenant_id, id_column == assignee_id)
        )
        return found.first() is not None

    async def was_active(self, tenant_id: str, kind: AssigneeKind, assignee_id: str) -> bool:
        """Whether the projection says the client or staff member is active now (False when
        unknown): read before an upsert, to see who *becomes* active."""
        table, id_column = _assignees(kind)
        active = await self._session.execute(
            select(table.c.active).where(table.c.tenant_id == tenant_id, id_column == assignee_id)
        )
        return bool(active.scalar_one_or_none())

    # ------------------------------------------------------------------ assignments

    async def assign(
        self,
        tenant_id: str,
        group_id: str,
        kind: AssigneeKind,
        period: AssignmentPeriod,
        actor: str,
        *,
        assignee_id: str | None = None,
    ) -> AssignmentCounts:
        """Assign the group's codes to one client or staff member (``assignee_id``) or to
        every active one (None), in one statement. Per (assignee, code): an assignment
        with these very dates is left alone (already assigned), one whose period already
        covers this one makes a new one pointless (skipped), else one is written."""
        table, id_column = _assignees(kind)
        people = select(id_column.label("assignee_id")).where(table.c.tenant_id == tenant_id)
        if assignee_id is None:
            people = people.where(table.c.active.is_(True))
        else:
            people = people.where(id_column == assignee_id)
        people_cte = people.cte("people")
        gc = BILLING_CODE_GROUP_CODE.c
        codes_cte = (
            select(gc.code).where(gc.tenant_id == tenant_id, gc.group_id == group_id).cte("codes")
        )
        pairs = (
            select(people_cte.c.assignee_id, codes_cte.c.code)
            .select_from(people_cte.join(codes_cte, true()))
            .subquery("pairs")
        )
        a = CODE_ASSIGNMENT.alias("kept")
        same_pair = and_(
            a.c.tenant_id == tenant_id,
            a.c.assignee_kind == kind.value,
            a.c.assignee_id == pairs.c.assignee_id,
            a.c.code == pairs.c.code,
        )
        through = period.effective_through
        identical = exists().where(
            same_pair,
            a.c.effective_from == period.effective_from,
            a.c.effective_through.is_(None)
            if through is None
            else a.c.effective_through == through,
        )
        covering = exists().where(
            same_pair,
            a.c.effective_from <= period.effective_from,
            a.c.effective_through.is_(None)
            if through is None
            else or_(a.c.effective_through.is_(None), a.c.effective_through >= through),
        )
        classified = select(
            pairs.c.assignee_id,
            pairs.c.code,
            case((identical, "IDENTICAL"), (covering, "COVERED"), else_="NEW").label("outcome"),
        ).cte("classified")
        c = CODE_ASSIGNMENT.c
        inserted = (
            insert(CODE_ASSIGNMENT)
            .from_select(
                [
                    c.tenant_id,
                    c.assignee_kind,
                    c.assignee_id,
                    c.code,
                    c.effective_from,
                    c.effective_through,
                    c.group_id,
                    c.assigned_by,
                ],
                select(
                    literal(tenant_id, String),
                    literal(kind.value, String),
                    classified.c.assignee_id,
                    classified.c.code,
                    literal(period.effective_from, Date),
                    literal(through, Date),
                    literal(group_id, String),
                    literal(actor, String),
                ).where(classified.c.outcome == "NEW"),
            )
            .on_conflict_do_nothing(constraint="uq_code_assignment_period")
            .returning(c.id)
            .cte("inserted")
        )

        def outcome(name: str) -> Any:
            return (
                select(func.count())
                .select_from(classified)
                .where(classified.c.outcome == name)
                .scalar_subquery()
            )

        counts = (
            await self._session.execute(
                select(
                    select(func.count()).select_from(people_cte).scalar_subquery(),
                    select(func.count()).select_from(codes_cte).scalar_subquery(),
                    select(func.count()).select_from(inserted).scalar_subquery(),
                    outcome("IDENTICAL"),
                    outcome("COVERED"),
                    outcome("NEW"),
                )
            )
        ).one()
        assignees, codes, written, identical_n, covered_n, new_n = counts
        return AssignmentCounts(
            assignees=assignees,
            codes=codes,
            assigned=written,
            # A pair another transaction assigned meanwhile is "already assigned" too.
            already_assigned=identical_n + (new_n - written),
            skipped=covered_n,
        )

    async def end_assignments(
        self,
        tenant_id: str,
        through: date,
        actor: str,
        *,
        group_id: str | None = None,
        kind: AssigneeKind | None = None,
        assignee_id: str | None = None,
        assignment_id: int | None = None,
    ) -> EndedAssignments:
        """End, on ``through``, the matching assignments still in force after it (an
        assignment not started by then ends the day before its first day)."""
        c = CODE_ASSIGNMENT.c
        new_through = func.greatest(literal(through, Date), c.effective_from - 1)
        statement = update(CODE_ASSIGNMENT).where(
            c.tenant_id == tenant_id,
            or_(c.effective_through.is_(None), c.effective_through > new_through),
        )
        if group_id is not None:
            statement = statement.where(c.group_id == group_id)
        if kind is not None:
            statement = statement.where(c.assignee_kind == kind.value)
        if assignee_id is not None:
            statement = statement.where(c.assignee_id == assignee_id)
        if assignment_id is not None:
            statement = statement.where(c.id == assignment_id)
        rows = await self._session.execute(
            statement.values(effective_through=new_through, ended_by=actor, ended_at=func.now())
            .execution_options(synchronize_session=False)
            .returning(c.effective_from)
        )
        starts = list(rows.scalars())
        return EndedAssignments(
            ended=len(starts), not_started=sum(1 for start in starts if start > through)
        )

    async def get_assignment(self, tenant_id: str, assignment_id: int) -> CodeAssignment | None:
        row = (
            (
                await self._session.execute(
                    select(CODE_ASSIGNMENT).where(
                        CODE_ASSIGNMENT.c.tenant_id == tenant_id,
                        CODE_ASSIGNMENT.c.id == assignment_id,
                    )
                )
            )
            .mappings()
            .first()
        )
        return None if row is None else _assignment(row)

    async def list_assignments(
        self,
        tenant_id: str,
        *,
        kind: AssigneeKind | None = None,
        assignee_id: str | None = None,
        group_id: str | None = None,
        code: str | None = None,
        on: date | None = None,
        limit: int,
        offset: int,
    ) -> list[CodeAssignment]:
        c = CODE_ASSIGNMENT.c
        query = select(CODE_ASSIGNMENT).where(c.tenant_id == tenant_id)
        if kind is not None:
            query = query.where(c.assignee_kind == kind.value)
        if assignee_id is not None:
            query = query.where(c.assignee_id == assignee_id)
        if group_id is not None:
            query = query.where(c.group_id == group_id)
        if code is not None:
            query = query.where(c.code == code)
        if on is not None:
            query = query.where(
                c.effective_from <= on,
                or_(c.effective_through.is_(None), c.effective_through >= on),
            )
        query = query.order_by(c.assignee_kind, c.assignee_id, c.code, c.effective_from, c.id)
        rows = await self._session.execute(query.limit(limit).offset(offset))
        return [_assignment(row) for row in rows.mappings()]

    def _in_force(
        self, tenant_id: str, kind: AssigneeKind, assignee_id: str, code: str, on: date
    ) -> Any:
        c = CODE_ASSIGNMENT.c
        return exists().where(
            c.tenant_id == tenant_id,
            c.assignee_kind == kind.value,
            c.assignee_id == assignee_id,
            c.code == code,
            c.effective_from <= on,
            or_(c.effective_through.is_(None), c.effective_through >= on),
        )

    async def facts(
        self, tenant_id: str, code: str, member_id: str, staff_id: str | None, on: date
    ) -> CodeAssignmentFacts:
        """Whether ``code`` is assigned on ``on`` to the member and to the staff member."""
        member = self._in_force(tenant_id, AssigneeKind.CLIENT, member_id, code, on)
        staff = (
            self._in_force(tenant_id, AssigneeKind.STAFF, staff_id, code, on)
            if staff_id is not None
            else literal(None)
        )
        member_assigned, staff_assigned = (await self._session.execute(select(member, staff))).one()
        return CodeAssignmentFacts(
            code=code,
            member_assigned=bool(member_assigned),
            staff_id=staff_id,
            staff_assigned=None if staff_id is None else bool(staff_assigned),
        )

    async def default_groups(self, tenant_id: str, became_active_at: datetime) -> list[str]:
        """Ids of the active default groups marked default by ``became_active_at``."""
        g = BILLING_CODE_GROUP.c
        rows = await self._session.execute(
            select(g.group_id)
            .where(
                g.tenant_id == tenant_id,
                g.deleted_at.is_(None),
                g.active.is_(True),
                g.is_default.is_(True),
                g.default_since <= became_active_at,
            )
            .order_by(g.group_id)
        )
        return list(rows.scalars())
