"""The institutional (837I) cycle claim scrub (SPEC 6): coded issues with a severity, found
before a cycle claim may be READY. The context checks (DRG in the master, leaves inside
the stay and dated, covered + non-covered = days) are also what an operator's edit of the
context must pass (seed 001: "the platform validates")."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date

from group_billing import Severity

from claims.domain.charges import GROUP, PER_DIEM
from claims.domain.claims import IssueCode, ScrubIssue, error, warning
from claims.domain.code_sets import DiagnosisCodeSet
from claims.domain.institutional import (
    MAX_OCCURRENCE_SPANS,
    AdmitDateSource,
    CycleClaimInputs,
    DayKind,
    InstitutionalClaimContent,
    LeaveDates,
    billable_claim_charges,
)
from claims.domain.reference import DrgMaster
from contracts.codes import is_valid_npi
from contracts.tenant import FilingType
from contracts.tenant.effective_dating import ConfigLookupError

INSTITUTIONAL = FilingType.INSTITUTIONAL.value
_SUBSCRIBER_ID_CHARACTERS = frozenset(chr(c) for c in range(0x21, 0x7F))


# --------------------------------------------------------------------------- context checks


def drg_issues(drg: str | None, master: DrgMaster) -> Iterator[ScrubIssue]:
    if drg is not None and drg not in master:
        yield error(IssueCode.DRG_NOT_IN_MASTER, "the DRG is not in the DRG master table")


def leave_issues(
    leaves: Sequence[LeaveDates],
    *,
    admission_date: date | None,
    discharge_date: date | None,
) -> Iterator[ScrubIssue]:
    """Each leave has its dates (a discharged stay's leaves have ended) and lies inside
    admit..discharge. Positions, never the dates themselves (PHI)."""
    for position, leave in enumerate(leaves, start=1):
        if leave.start_date is None:
            yield error(IssueCode.LOA_WITHOUT_DATE, f"leave {position} has no start date")
            continue
        if leave.return_date is None and discharge_date is not None:
            yield error(
                IssueCode.LOA_WITHOUT_DATE,
                f"leave {position} has no return date but the stay is discharged",
            )
        if leave.return_date is not None and leave.return_date <= leave.start_date:
            yield error(IssueCode.LOA_OUTSIDE_STAY, f"leave {position} returns before it starts")
            continue
        before = admission_date is not None and leave.start_date < admission_date
        after = discharge_date is not None and (
            leave.start_date > discharge_date
            or (leave.return_date is not None and leave.return_date > discharge_date)
        )
        if before or after:
            yield error(
                IssueCode.LOA_OUTSIDE_STAY,
                f"leave {position} falls outside the stay (admission through discharge)",
            )


def day_sum_issues(covered: int, non_covered: int, days_in_period: int) -> Iterator[ScrubIssue]:
    if covered < 0 or non_covered < 0 or covered + non_covered != days_in_period:
        yield error(
            IssueCode.STAY_DAY_MISMATCH,
            f"covered ({covered}) + non-covered ({non_covered}) days differ from the "
            f"{days_in_period} days in the statement period",
        )


def context_issues(content: InstitutionalClaimContent, master: DrgMaster) -> list[ScrubIssue]:
    """What an edit of the context must pass (422 otherwise) and the scrub re-checks."""
    days = content.days
    return [
        *drg_issues(content.drg, master),
        *leave_issues(
            content.leaves,
            admission_date=content.admission_date,
            discharge_date=content.discharge_date,
        ),
        *day_sum_issues(days.covered_days, days.non_covered_days, days.days_in_period),
    ]


# --------------------------------------------------------------------------- the scrub


def scrub_cycle_claim(
    inputs: CycleClaimInputs,
    content: InstitutionalClaimContent,
    diagnoses: DiagnosisCodeSet,
    master: DrgMaster,
) -> tuple[ScrubIssue, ...]:
    return (
        *_party_issues(inputs, content),
        *_program_issues(inputs, content),
        *_admission_issues(content),
        *_diagnosis_issues(content, diagnoses),
        *context_issues(content, master),
        *_day_issues(content),
    )


def _party_issues(
    inputs: CycleClaimInputs, content: InstitutionalClaimContent
) -> Iterator[ScrubIssue]:
    if not is_valid_npi(content.billing_provider.npi):
        yield error(IssueCode.INVALID_NPI, "the billing provider's NPI fails the CMS check digit")
    facility = content.service_facility
    if facility is not None and not is_valid_npi(facility.npi):
        yield error(
            IssueCode.INVALID_NPI,
            f"facility {facility.facility_id}'s NPI fails the CMS check digit",
        )
    if inputs.payer_id is None:
        yield error(IssueCode.MISSING_PAYER, "no day charge of the cycle names a payer")
    elif content.payer is None:
        yield error(IssueCode.UNKNOWN_PAYER, "the tenant configuration has no such payer")
    if len(inputs.payer_ids) > 1:
        yield error(
            IssueCode.PAYER_CHANGES_IN_CYCLE,
            f"the cycle's day charges name {len(inputs.payer_ids)} payers; one claim bills one",
        )
    if inputs.member is None:
        yield error(IssueCode.MISSING_MEMBER, "no member record has arrived from the EHR yet")
        return
    subscriber = content.subscriber
    if subscriber is None:
        yield error(
            IssueCode.MISSING_SUBSCRIBER,
            "the member has no coverage with the claim's payer in force on the statement's "
            "first date",
        )
    elif not subscriber.subscriber_id or not set(subscriber.subscriber_id).issubset(
        _SUBSCRIBER_ID_CHARACTERS
    ):
        yield error(IssueCode.MISSING_SUBSCRIBER, "the coverage's subscriber id is not usable")


def _program_issues(
    inputs: CycleClaimInputs, content: InstitutionalClaimContent
) -> Iterator[ScrubIssue]:
    tenant = inputs.tenant
    try:
        program = tenant.program(inputs.program_id)
    except ConfigLookupError:
        yield error(IssueCode.UNKNOWN_PROGRAM, f"no program {inputs.program_id}")
        return
    if program.filing_type is not FilingType.INSTITUTIONAL:
        yield error(
            IssueCode.FILING_TYPE_MISMATCH,
            f"a per-diem stay on {program.filing_type.value} program {program.id}",
        )
    elif content.type_of_bill is None:
        yield error(
            IssueCode.MISSING_TYPE_OF_BILL,
            f"program {program.id} has no institutional billing in force on the cycle's first date",
        )
    lines = {cid: line for line in content.lines for cid in line.charge_ids}
    for charge in billable_claim_charges(inputs.charges):
        line = lines.get(charge.charge_id)
        number = line.line_number if line else None
        mismatch = charge.kind == GROUP or charge.filing_type != INSTITUTIONAL
        if not mismatch and charge.kind == PER_DIEM:
            try:
                mismatch = (
                    tenant.program(charge.program_id).filing_type is not FilingType.INSTITUTIONAL
                )
            except ConfigLookupError:
                yield ScrubIssue(
                    IssueCode.UNKNOWN_PROGRAM,
                    Severity.ERROR,
                    f"no program {charge.program_id}",
                    number,
                    charge.charge_id,
                )
                continue
        if mismatch:
            yield ScrubIssue(
                IssueCode.FILING_TYPE_MISMATCH,
                Severity.ERROR,
                f"a {charge.kind} {charge.filing_type} charge of program {charge.program_id} "
                "on an institutional claim",
                number,
                charge.charge_id,
            )


def _admission_issues(content: InstitutionalClaimContent) -> Iterator[ScrubIssue]:
    if content.admission_date is None:
        yield error(
            IssueCode.MISSING_ADMIT_DATE,
            "no admit date, and no enrollment window in the program brackets the claim's "
            "first date",
        )
    elif content.admission_date_source is AdmitDateSource.ENROLLMENT:
        yield warning(
            IssueCode.INSTITUTIONAL_ADMIT_AUTO_RESOLVED,
            "the admit date was filled from the member's enrollment window in the program",
        )
    if content.admission_type is None or content.admission_source is None:
        yield error(
            IssueCode.MISSING_ADMISSION,
            "no admission type or source (CL101, CL102): no stay record, and no edit",
        )


def _diagnosis_issues(
    content: InstitutionalClaimContent, diagnoses: DiagnosisCodeSet
) -> Iterator[ScrubIssue]:
    if content.principal_diagnosis is None:
        yield error(IssueCode.MISSING_DIAGNOSIS, "no principal diagnosis")
    named = [
        ("the principal diagnosis", content.principal_diagnosis),
        ("the admitting diagnosis", content.admitting_diagnosis),
        *(
            (f"other diagnosis {n}", code)
            for n, code in enumerate(content.other_diagnoses, start=1)
        ),
    ]
    for what, code in named:
        if code is not None and not diagnoses.is_billable(code):
            yield error(
                IssueCode.INVALID_DIAGNOSIS, f"{what} is not a billable code in {diagnoses.name}"
            )


def _day_issues(content: InstitutionalClaimContent) -> Iterator[ScrubIssue]:
    days = content.days
    if len(content.occurrence_spans) > MAX_OCCURRENCE_SPANS:
        yield error(
            IssueCode.TOO_MANY_LEAVES,
            f"{len(content.occurrence_spans)} leave spans; an 837I carries at most "
            f"{MAX_OCCURRENCE_SPANS}",
        )
    if content.edited and "non_covered_days" in content.edited:
        return  # the operator's count was checked against the period; it stands
    if days.non_covered_days != days.expected_leave_days:
        yield error(
            IssueCode.STAY_DAY_MISMATCH,
            f"the stay has {days.expected_leave_days} leave day(s) in the period; the claim "
            f"reports {days.non_covered_days} non-covered",
        )
    disagreeing = sum(
        1
        for d in days.days
        if d.billed_as is not None
        and d.expected is not DayKind.NOT_BILLED
        and d.billed_as is not d.expected
    )
    if disagreeing and days.non_covered_days == days.expected_leave_days:
        yield error(
            IssueCode.STAY_DAY_MISMATCH,
            f"{disagreeing} day charge(s) bill a leave day as covered or a covered day as leave",
        )
    billed_off_stay = sum(
        1 for d in days.days if d.billed_as is not None and d.expected is DayKind.NOT_BILLED
    )
    if billed_off_stay:
        yield error(
            IssueCode.STAY_DAY_MISMATCH,
            f"{billed_off_stay} day charge(s) bill a day that is not a stay day "
            "(the discharge day)",
        )
