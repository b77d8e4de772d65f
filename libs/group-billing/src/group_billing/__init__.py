"""The group billing rules of SPEC 3 and 5, written once (STYLE 1).

Attendance's billing preview, the charge builder and the claim scrubber all call these
functions; none of them re-implements a rule. Pure: no I/O, no framework; inputs are plain
values (statuses as strings, bands as :class:`Band`), so each caller adapts its own data.
"""

from group_billing.rules import (
    PRESENT,
    Band,
    BandResolution,
    GroupBillingEvaluation,
    GroupIssue,
    GroupSessionFacts,
    IssueCode,
    Severity,
    bands_from_config,
    check_supervision_ratio,
    count_billable_participants,
    evaluate_group_session,
    resolve_group_size_band,
)

__all__ = [
    "PRESENT",
    "Band",
    "BandResolution",
    "GroupBillingEvaluation",
    "GroupIssue",
    "GroupSessionFacts",
    "IssueCode",
    "Severity",
    "bands_from_config",
    "check_supervision_ratio",
    "count_billable_participants",
    "evaluate_group_session",
    "resolve_group_size_band",
]
