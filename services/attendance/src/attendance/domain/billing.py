"""What the group billing rules say about a session (SPEC 3's billing preview).

The rules themselves live once in ``group_billing``; this module only gathers their facts
from the tenant configuration in force on the session date (billable statuses, the
program's size bands, the supervision ratio for the participants' payers and the
facility's state) and hands them to :func:`group_billing.evaluate_group_session`. Pure:
the caller loads coverage and facility facts and passes them in."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from group_billing import (
    Band,
    GroupBillingEvaluation,
    GroupSessionFacts,
    bands_from_config,
    evaluate_group_session,
)

from attendance.domain.errors import BILLING_POLICY_UNAVAILABLE, AttendanceRuleViolation
from attendance.domain.model import GroupSession
from attendance.domain.roster import AttendanceStatus
from contracts.tenant import TenantConfig
from contracts.tenant.effective_dating import ConfigLookupError


@dataclass(frozen=True)
class CoveragePeriod:
    """One coverage of a member with one payer, in force ``effective_from`` through
    ``effective_to`` (both inclusive; None = open-ended). No subscriber data: the preview
    needs only the payer."""

    coverage_id: str
    payer_id: str
    is_primary: bool
    effective_from: date
    effective_to: date | None = None

    def in_force_on(self, day: date) -> bool:
        return self.effective_from <= day and (
            self.effective_to is None or day <= self.effective_to
        )


def primary_payer_on(coverages: Iterable[CoveragePeriod], day: date) -> str | None:
    """The payer of the member's primary coverage in force on ``day``, or None."""
    for coverage in coverages:
        if coverage.is_primary and coverage.in_force_on(day):
            return coverage.payer_id
    return None


@dataclass(frozen=True)
class SupervisionRatio:
    """The supervision-ratio rule applied: the tenant rule's limit and its scope."""

    max_participants_per_supervisor: int
    payer_id: str | None
    state: str | None


@dataclass(frozen=True)
class BillingRules:
    """The tenant's rules for one session on its date, ready for the group rules."""

    billable_statuses: frozenset[AttendanceStatus]
    bands: tuple[Band, ...] | None
    supervision_ratio: SupervisionRatio | None
    payer_checks_skipped: bool
    payer_checks_skipped_reason: str | None
    payers: tuple[str, ...]
    facility_state: str | None
    notes: tuple[str, ...] = ()

    @property
    def billable_statuses_in_order(self) -> list[AttendanceStatus]:
        return [s for s in AttendanceStatus if s in self.billable_statuses]


def billing_rules_for(
    tenant: TenantConfig,
    session: GroupSession,
    *,
    coverages: Mapping[str, Sequence[CoveragePeriod]],
    facility_state: str | None,
) -> BillingRules:
    """The tenant configuration in force on the session date, for this session.

    Payer-scoped checks use the primary coverage in force of the participants the
    session would bill (the whole roster while nobody is billable yet); several payers
    mean the strictest of their rules applies. With no coverage known they are skipped,
    and the rules say why."""
    day = session.plan.session_date
    notes: list[str] = []
    policy = tenant.attendance_policy
    try:
        billable = frozenset(AttendanceStatus(s.value) for s in policy.billable_statuses_on(day))
    except ConfigLookupError as exc:
        raise AttendanceRuleViolation(
            BILLING_POLICY_UNAVAILABLE,
            str(exc),
            session_id=session.session_id,
            session_date=day.isoformat(),
        ) from exc
    bands: tuple[Band, ...] | None
    try:
        bands = bands_from_config(tenant.program(session.plan.program_id).group_pricing_on(day))
    except ConfigLookupError as exc:
        bands = None
        notes.append(f"no size bands: {exc}")

    members = list(session.participants)
    billable_members = [m for m in members if session.participants[m].status in billable]
    considered = billable_members or members
    payer_of = {m: primary_payer_on(coverages.get(m, ()), day) for m in considered}
    payers = tuple(sorted({p for p in payer_of.values() if p is not None}))
    uncovered = sum(1 for p in payer_of.values() if p is None)
    if facility_state is None:
        notes.append("facility state unknown: state-scoped supervision rules not applied")

    ratio: SupervisionRatio | None = None
    skipped_reason: str | None = None
    if not payers:
        skipped_reason = f"no primary coverage in force on {day.isoformat()} is known for the " + (
            "billable participants" if billable_members else "roster"
        )
    else:
        if uncovered:
            notes.append(
                f"{uncovered} participant(s) have no known primary coverage on {day.isoformat()}"
            )
        for payer_id in payers:
            rule = policy.supervision_ratio_on(day, payer_id=payer_id, state=facility_state)
            if rule is not None and (
                ratio is None
                or rule.max_participants_per_supervisor < ratio.max_participants_per_supervisor
            ):
                ratio = SupervisionRatio(
                    rule.max_participants_per_supervisor, rule.payer_id, rule.state
                )
    return BillingRules(
        billable_statuses=billable,
        bands=bands,
        supervision_ratio=ratio,
        payer_checks_skipped=not payers,
        payer_checks_skipped_reason=skipped_reason,
        payers=payers,
        facility_state=facility_state,
        notes=tuple(notes),
    )


def evaluate_session(session: GroupSession, rules: BillingRules) -> GroupBillingEvaluation:
    """The group rules over the session's roster as it stands (the billing preview)."""
    return evaluate_group_session(
        GroupSessionFacts(
            participant_statuses=[e.status.value for e in session.participants.values()],
            supervisor_statuses=[e.status.value for e in session.supervisors.values()],
            billable_statuses=frozenset(s.value for s in rules.billable_statuses),
            bands=rules.bands,
            max_participants_per_supervisor=(
                rules.supervision_ratio.max_participants_per_supervisor
                if rules.supervision_ratio is not None
                else None
            ),
            payer_checks_skipped=rules.payer_checks_skipped,
        )
    )
