"""Billing code groups and code assignments (SPEC 5, seed 004).

A *billing code group* is a tenant's named set of billing codes (CPT / HCPCS), active or
not, possibly *default*. It is a tool to hand codes out fast: assigning a group writes one
*code assignment* per code to a client (member) or a staff member (provider), with
effective dates. From then on the assignment stands on its own: renaming, emptying,
deactivating or deleting the group never touches assignments already made, and an
assignment is never deleted, only ended (its last day in force set).

The codes a tenant can put in a group (its *code universe*) are the reference list that
ships with the service plus every service code the tenant's programs bill; anything else
is refused (UNKNOWN_BILLING_CODE).

With the tenant's ``enforce_code_assignment`` on, a charge whose code is not assigned to
its member, or to its rendering staff, on the date of service needs a fix
(CODE_NOT_ASSIGNED_TO_MEMBER / CODE_NOT_ASSIGNED_TO_STAFF)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from charges.domain.charges import Issue, IssueCode
from common.errors import DomainError
from contracts.tenant import TenantConfig

#: Longest group name kept (the seed's are a few words: "BCBS Auth Group").
MAX_GROUP_NAME = 100


class AssigneeKind(StrEnum):
    """Who a code is assigned to: a client (a member of the EHR feed) or a staff member
    (a provider of the EHR feed; the rendering staff of a charge)."""

    CLIENT = "CLIENT"
    STAFF = "STAFF"


class CodeSource(StrEnum):
    REFERENCE = "REFERENCE"  # the reference list shipped with the service
    PROGRAM = "PROGRAM"  # a service code of one of the tenant's programs


# --------------------------------------------------------------------------- refusals


class CodeGroupRuleViolation(DomainError):
    """A change to a group or its assignments that the rules refuse; ``code`` is stable."""


class UnknownBillingCode(CodeGroupRuleViolation):
    def __init__(self, codes: Iterable[str]) -> None:
        unknown = sorted(set(codes))
        super().__init__(
            "UNKNOWN_BILLING_CODE",
            "not a billing code of this tenant (the reference list or a program's service "
            "codes): " + ", ".join(unknown),
            codes=unknown,
        )


class BillingCodeGroupNotFound(CodeGroupRuleViolation):
    def __init__(self, group_id: str) -> None:
        super().__init__(
            "BILLING_CODE_GROUP_NOT_FOUND", "no billing code group with this id", group_id=group_id
        )


class DuplicateGroupName(CodeGroupRuleViolation):
    def __init__(self, name: str, group_id: str | None) -> None:
        super().__init__(
            "DUPLICATE_GROUP_NAME",
            f"a billing code group named '{name}' already exists (names are compared "
            "without regard to case)",
            existing_group_id=group_id,
        )


class GroupInactive(CodeGroupRuleViolation):
    def __init__(self, group_id: str) -> None:
        super().__init__(
            "GROUP_INACTIVE",
            "the billing code group is not active: activate it before assigning it",
            group_id=group_id,
        )


class EndBeforeStart(CodeGroupRuleViolation):
    def __init__(self, effective_from: date, effective_through: date) -> None:
        super().__init__(
            "END_BEFORE_START",
            f"the end date {effective_through.isoformat()} is before the start date "
            f"{effective_from.isoformat()}",
            effective_from=effective_from.isoformat(),
            effective_through=effective_through.isoformat(),
        )


class AssigneeNotFound(CodeGroupRuleViolation):
    def __init__(self, kind: AssigneeKind, assignee_id: str) -> None:
        what = "member" if kind is AssigneeKind.CLIENT else "provider"
        super().__init__(
            f"{what.upper()}_NOT_FOUND",
            f"no {what} with this id (the EHR feed has not announced it)",
            assignee_id=assignee_id,
        )


class AssignmentNotFound(CodeGroupRuleViolation):
    def __init__(self, assignment_id: int) -> None:
        super().__init__(
            "CODE_ASSIGNMENT_NOT_FOUND",
            "no code assignment with this id",
            assignment_id=assignment_id,
        )


# --------------------------------------------------------------------------- codes


def normalize_code(code: str) -> str:
    return code.strip().upper()


@dataclass(frozen=True)
class BillingCode:
    code: str
    kind: str  # CPT or HCPCS
    description: str | None
    nonbillable: bool = False


@dataclass(frozen=True)
class UniverseCode:
    """One code of a tenant's universe, with where it comes from."""

    code: str
    kind: str
    description: str | None
    nonbillable: bool
    sources: tuple[CodeSource, ...]


def _kind(code: str) -> str:
    return "HCPCS" if code[:1].isalpha() else "CPT"


class CodeUniverse:
    """The billing codes a tenant can put in a group, in code order."""

    def __init__(self, codes: Iterable[UniverseCode]) -> None:
        self._codes = {c.code: c for c in sorted(codes, key=lambda c: c.code)}

    @classmethod
    def for_tenant(cls, reference: Iterable[BillingCode], tenant: TenantConfig) -> CodeUniverse:
        """The reference list plus the service codes of every version of every program of
        the tenant (a code billed once stays assignable after its pricing ends)."""
        found: dict[str, UniverseCode] = {
            ref.code: UniverseCode(
                ref.code, ref.kind, ref.description, ref.nonbillable, (CodeSource.REFERENCE,)
            )
            for ref in reference
        }
        for program in tenant.programs:
            for version in program.group:
                for code in version.service_codes:
                    known = found.get(code)
                    if known is None:
                        found[code] = UniverseCode(
                            code, _kind(code), None, False, (CodeSource.PROGRAM,)
                        )
                    elif CodeSource.PROGRAM not in known.sources:
                        found[code] = UniverseCode(
                            code,
                            known.kind,
                            known.description,
                            known.nonbillable,
                            (*known.sources, CodeSource.PROGRAM),
                        )
        return cls(found.values())

    def __contains__(self, code: object) -> bool:
        return code in self._codes

    def __len__(self) -> int:
        return len(self._codes)

    @property
    def codes(self) -> list[UniverseCode]:
        return list(self._codes.values())

    def get(self, code: str) -> UniverseCode | None:
        return self._codes.get(code)

    def require(self, codes: Iterable[str]) -> list[str]:
        """``codes`` normalized (trimmed, upper case), deduplicated and sorted; refused
        whole, naming every unknown one, when any is not in the universe."""
        wanted = sorted({normalize_code(c) for c in codes})
        unknown = [c for c in wanted if c not in self._codes]
        if unknown:
            raise UnknownBillingCode(unknown)
        return wanted

    def split(self, assigned: Iterable[str]) -> tuple[list[UniverseCode], list[UniverseCode]]:
        """(the group's codes, the universe's other codes): the seed's two columns. A code
        a group holds that left the universe (the tenant's configuration changed) is still
        listed as assigned, without a description."""
        held = set(assigned)
        mine = [self._codes.get(c) or UniverseCode(c, _kind(c), None, False, ()) for c in held]
        others = [c for code, c in self._codes.items() if code not in held]
        return sorted(mine, key=lambda c: c.code), others


# --------------------------------------------------------------------------- groups


def clean_group_name(name: str) -> str:
    """The name as kept: inner runs of spaces made one, ends trimmed."""
    cleaned = " ".join(name.split())
    if not cleaned:
        raise CodeGroupRuleViolation("GROUP_NAME_REQUIRED", "a billing code group has a name")
    if len(cleaned) > MAX_GROUP_NAME:
        raise CodeGroupRuleViolation(
            "GROUP_NAME_TOO_LONG", f"a group name has at most {MAX_GROUP_NAME} characters"
        )
    return cleaned


def group_name_key(name: str) -> str:
    """What makes two names the same name: "BCBS Auth Group" = "bcbs  auth group"."""
    return clean_group_name(name).casefold()


@dataclass(frozen=True)
class BillingCodeGroup:
    tenant_id: str
    group_id: str
    name: str
    active: bool
    is_default: bool
    #: When the group was last marked default (None when it is not): clients and staff
    #: who become active from then on get it automatically.
    default_since: datetime | None
    version: int
    codes: tuple[str, ...] = ()

    def require_assignable(self) -> None:
        if not self.active:
            raise GroupInactive(self.group_id)

    def assigned_automatically_to(self, became_active_at: datetime) -> bool:
        """Whether someone who became active at ``became_active_at`` gets this group
        without asking: an active default group marked default by then."""
        return (
            self.active
            and self.is_default
            and self.default_since is not None
            and self.default_since <= became_active_at
        )


def default_since_after(
    group: BillingCodeGroup | None, is_default: bool, now: datetime
) -> datetime | None:
    """The group's ``default_since`` once its default flag is ``is_default``: kept while it
    stays default, ``now`` when it becomes default, None when it stops being default."""
    if not is_default:
        return None
    if group is not None and group.is_default and group.default_since is not None:
        return group.default_since
    return now


# --------------------------------------------------------------------------- assignments


@dataclass(frozen=True)
class AssignmentPeriod:
    """First and last day an assignment is in force (both inclusive; no last day: open)."""

    effective_from: date
    effective_through: date | None = None

    def __post_init__(self) -> None:
        if self.effective_through is not None and self.effective_through < self.effective_from:
            raise EndBeforeStart(self.effective_from, self.effective_through)

    def in_force_on(self, day: date) -> bool:
        return self.effective_from <= day and (
            self.effective_through is None or day <= self.effective_through
        )


def ended_through(effective_from: date, through: date) -> date:
    """An assignment's last day once ended on ``through``. One that had not started by then
    ends the day before its first day: kept for the record, never in force."""
    return max(through, effective_from - timedelta(days=1))


@dataclass(frozen=True)
class AssignmentCounts:
    """What an "assign" did, counted per (assignee, code):

    - ``assigned``: assignments written now;
    - ``already_assigned``: an assignment with these very dates existed (a repeated call);
    - ``skipped``: another assignment of the code already covers the whole period.

    ``assignees`` is how many clients or staff were considered (the active ones, for the
    "assign to all" actions) and ``codes`` how many codes the group holds."""

    assignees: int
    codes: int
    assigned: int
    already_assigned: int
    skipped: int


@dataclass(frozen=True)
class CodeAssignment:
    assignment_id: int
    tenant_id: str
    assignee_kind: AssigneeKind
    assignee_id: str
    code: str
    #: First and last day in force; an assignment ended before it started keeps
    #: ``effective_through = effective_from - 1`` (never in force).
    effective_from: date
    effective_through: date | None
    group_id: str | None
    assigned_by: str
    assigned_at: datetime
    ended_by: str | None
    ended_at: datetime | None


# --------------------------------------------------------------------------- enforcement


@dataclass(frozen=True)
class CodeAssignmentFacts:
    """Whether a charge's code is assigned, on its date of service, to its member and to
    its rendering staff (None: the charge names no rendering staff, nothing to check)."""

    code: str
    member_assigned: bool
    staff_id: str | None = None
    staff_assigned: bool | None = None


def code_assignment_issues(facts: CodeAssignmentFacts, day: date) -> list[Issue]:
    issues: list[Issue] = []
    if not facts.member_assigned:
        issues.append(
            Issue(
                IssueCode.CODE_NOT_ASSIGNED_TO_MEMBER,
                f"code {facts.code} is not assigned to the member on {day.isoformat()}",
            )
        )
    if facts.staff_id is not None and facts.staff_assigned is False:
        issues.append(
            Issue(
                IssueCode.CODE_NOT_ASSIGNED_TO_STAFF,
                f"code {facts.code} is not assigned to the rendering staff {facts.staff_id} "
                f"on {day.isoformat()}",
            )
        )
    return issues


CODE_ASSIGNMENT_ISSUES = (
    IssueCode.CODE_NOT_ASSIGNED_TO_MEMBER,
    IssueCode.CODE_NOT_ASSIGNED_TO_STAFF,
)
