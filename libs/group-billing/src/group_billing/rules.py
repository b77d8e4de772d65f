"""Billable participants, size bands, supervision ratio, and the issues they raise."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from contracts.tenant.model import GroupBillingVersion

SCHEDULED = "SCHEDULED"
PRESENT = frozenset({"ATTENDED", "LATE", "LEFT_EARLY"})


class IssueCode(StrEnum):
    SUPERVISION_RATIO_BREACH = "SUPERVISION_RATIO_BREACH"
    GROUP_SIZE_BAND_MISMATCH = "GROUP_SIZE_BAND_MISMATCH"
    GROUP_SIZE_BELOW_MINIMUM = "GROUP_SIZE_BELOW_MINIMUM"
    GROUP_UNATTENDED_BILLED = "GROUP_UNATTENDED_BILLED"
    NO_SUPERVISOR_PRESENT = "NO_SUPERVISOR_PRESENT"


class Severity(StrEnum):
    ERROR = "error"  # blocks billing
    WARNING = "warning"  # shown; may be knowingly accepted


# SPEC 3's table: which issue blocks billing.
BLOCKS_BILLING: dict[IssueCode, bool] = {
    IssueCode.SUPERVISION_RATIO_BREACH: False,
    IssueCode.GROUP_SIZE_BAND_MISMATCH: False,
    IssueCode.GROUP_SIZE_BELOW_MINIMUM: True,
    IssueCode.GROUP_UNATTENDED_BILLED: True,
    IssueCode.NO_SUPERVISOR_PRESENT: True,
}


@dataclass(frozen=True)
class GroupIssue:
    code: IssueCode
    message: str

    @property
    def blocks_billing(self) -> bool:
        return BLOCKS_BILLING[self.code]

    @property
    def severity(self) -> Severity:
        return Severity.ERROR if self.blocks_billing else Severity.WARNING


def _issue(code: IssueCode, message: str) -> GroupIssue:
    return GroupIssue(code, message)


@dataclass(frozen=True)
class Band:
    name: str
    min_participants: int
    max_participants: int | None
    rate_per_participant: Decimal

    def holds(self, count: int) -> bool:
        return self.min_participants <= count and (
            self.max_participants is None or count <= self.max_participants
        )


def bands_from_config(version: GroupBillingVersion) -> tuple[Band, ...]:
    """The tenant configuration's bands (a version in force on the date), smallest first."""
    return tuple(
        Band(b.name, b.min_participants, b.max_participants, b.rate_per_participant)
        for b in sorted(version.size_bands, key=lambda b: b.min_participants)
    )


def count_billable_participants(statuses: Iterable[str], billable_statuses: Collection[str]) -> int:
    """Participants whose final status the tenant's policy bills (default ATTENDED and
    LATE; LEFT_EARLY only where the policy says so). Supervisors are never passed here."""
    billable = {str(s) for s in billable_statuses}
    return sum(1 for status in statuses if str(status) in billable)


@dataclass(frozen=True)
class BandResolution:
    band: Band | None
    issue: GroupIssue | None


def resolve_group_size_band(count: int, bands: Sequence[Band]) -> BandResolution:
    """The band holding ``count``; in a gap between bands the next band down (with
    GROUP_SIZE_BAND_MISMATCH); below the smallest band none (GROUP_SIZE_BELOW_MINIMUM)."""
    ordered = sorted(bands, key=lambda b: b.min_participants)
    for band in ordered:
        if band.holds(count):
            return BandResolution(band, None)
    below = [b for b in ordered if b.max_participants is not None and b.max_participants < count]
    if not ordered or count < ordered[0].min_participants or not below:
        smallest = ordered[0].min_participants if ordered else None
        return BandResolution(
            None,
            _issue(
                IssueCode.GROUP_SIZE_BELOW_MINIMUM,
                f"{count} billable participants; the smallest band starts at {smallest}"
                if smallest is not None
                else "no size band is configured",
            ),
        )
    band = below[-1]
    return BandResolution(
        band,
        _issue(
            IssueCode.GROUP_SIZE_BAND_MISMATCH,
            f"{count} billable participants fall between bands; priced as {band.name}",
        ),
    )


def check_supervision_ratio(
    billable_count: int, supervisors_present: int, max_participants_per_supervisor: int | None
) -> GroupIssue | None:
    """SUPERVISION_RATIO_BREACH when billable participants per present supervisor exceed
    the payer/state rule. No rule, or no supervisor present (its own issue), is no breach."""
    if max_participants_per_supervisor is None or supervisors_present == 0:
        return None
    if billable_count > max_participants_per_supervisor * supervisors_present:
        return _issue(
            IssueCode.SUPERVISION_RATIO_BREACH,
            f"{billable_count} billable participants for {supervisors_present} supervisor(s) "
            f"present; the rule allows {max_participants_per_supervisor} each",
        )
    return None


@dataclass(frozen=True)
class GroupSessionFacts:
    """What the rules look at. ``bands`` None means no pricing is known (no program
    version in force); ``max_participants_per_supervisor`` None means no ratio rule or
    payer-scoped checks skipped (``payer_checks_skipped`` says which)."""

    participant_statuses: Sequence[str]
    supervisor_statuses: Sequence[str]
    billable_statuses: frozenset[str]
    bands: Sequence[Band] | None
    max_participants_per_supervisor: int | None = None
    payer_checks_skipped: bool = False
    acknowledged_warnings: frozenset[str] = frozenset()


@dataclass(frozen=True)
class GroupBillingEvaluation:
    billable_count: int
    band: Band | None
    issues: tuple[GroupIssue, ...]
    payer_checks_skipped: bool
    acknowledged_warnings: frozenset[str] = frozenset()

    @property
    def blocks_billing(self) -> bool:
        return any(issue.blocks_billing for issue in self.issues)

    @property
    def unacknowledged_warnings(self) -> list[GroupIssue]:
        """Warnings nobody knowingly accepted at close (e.g. SUPERVISION_RATIO_BREACH)."""
        return [
            issue
            for issue in self.issues
            if not issue.blocks_billing and issue.code.value not in self.acknowledged_warnings
        ]

    @property
    def codes(self) -> list[str]:
        return [issue.code.value for issue in self.issues]


def evaluate_group_session(facts: GroupSessionFacts) -> GroupBillingEvaluation:
    """Every group rule over one session: the billing preview, the charge builder and the
    scrubber see the same count, band and issues."""
    issues: list[GroupIssue] = []
    unmarked = sum(1 for s in facts.participant_statuses if str(s) == SCHEDULED)
    if unmarked:
        issues.append(
            _issue(
                IssueCode.GROUP_UNATTENDED_BILLED,
                f"{unmarked} participant(s) still SCHEDULED; mark them before billing",
            )
        )
    present = sum(1 for s in facts.supervisor_statuses if str(s) in PRESENT)
    if present == 0:
        issues.append(_issue(IssueCode.NO_SUPERVISOR_PRESENT, "no supervisor is marked present"))
    count = count_billable_participants(facts.participant_statuses, facts.billable_statuses)
    band: Band | None = None
    if facts.bands is not None:
        resolution = resolve_group_size_band(count, facts.bands)
        band = resolution.band
        if resolution.issue is not None:
            issues.append(resolution.issue)
    ratio = check_supervision_ratio(count, present, facts.max_participants_per_supervisor)
    if ratio is not None:
        issues.append(ratio)
    return GroupBillingEvaluation(
        billable_count=count,
        band=band,
        issues=tuple(issues),
        payer_checks_skipped=facts.payer_checks_skipped,
        acknowledged_warnings=facts.acknowledged_warnings,
    )
