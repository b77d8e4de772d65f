"""The professional claim scrub (SPEC 6): coded issues with a severity, found before a
claim may be READY. An error keeps the claim DRAFT; a warning is shown and does not.

The group rules are not re-implemented: each group line's session context goes back
through ``group_billing.evaluate_group_session``, the one implementation attendance's
preview and the charge builder use (STYLE 1)."""

from __future__ import annotations

from collections.abc import Iterator

from group_billing import (
    GroupSessionFacts,
    bands_from_config,
    evaluate_group_session,
)

from claims.domain.building import ClaimInputs
from claims.domain.charges import GROUP, PER_DIEM, ChargeOnFile
from claims.domain.claims import (
    ClaimLine,
    IssueCode,
    ProfessionalClaimContent,
    ScrubIssue,
    error,
)
from claims.domain.code_sets import DiagnosisCodeSet
from contracts.codes import is_valid_npi
from contracts.tenant import FilingType, GroupBillingVersion, TenantConfig
from contracts.tenant.effective_dating import ConfigLookupError

# The context carries counts, not rows: a participant counted billable is re-run as one
# ATTENDED row and a supervisor present as one ATTENDED supervisor.
_COUNTED = "ATTENDED"
_SUBSCRIBER_ID_CHARACTERS = frozenset(chr(c) for c in range(0x21, 0x7F))


def scrub_professional_claim(
    inputs: ClaimInputs, content: ProfessionalClaimContent, diagnoses: DiagnosisCodeSet
) -> tuple[ScrubIssue, ...]:
    issues = [
        *_party_issues(inputs, content, diagnoses),
        *_npi_issues(inputs, content),
    ]
    charges = {c.charge_id: c for c in inputs.charges}
    for line in content.lines:
        charge = charges[line.charge_id]
        issues += _line_issues(inputs.tenant, charge, line)
        issues += _group_issues(inputs.tenant, charge, line)
    return tuple(issues)


def _party_issues(
    inputs: ClaimInputs, content: ProfessionalClaimContent, diagnoses: DiagnosisCodeSet
) -> Iterator[ScrubIssue]:
    if content.payer is None:
        yield error(IssueCode.UNKNOWN_PAYER, "the tenant configuration has no such payer")
    if content.place_of_service is None:
        yield error(IssueCode.MISSING_PLACE_OF_SERVICE, "no line names a place of service")
    if inputs.member is None:
        # The member event may be on its way: the claim waits as DRAFT and is scrubbed
        # again when it arrives.
        yield error(IssueCode.MISSING_MEMBER, "no member record has arrived from the EHR yet")
        return
    subscriber = content.subscriber
    if subscriber is None:
        yield error(
            IssueCode.MISSING_SUBSCRIBER,
            "the member has no coverage with the claim's payer in force on the date of service",
        )
    elif not subscriber.subscriber_id or not set(subscriber.subscriber_id).issubset(
        _SUBSCRIBER_ID_CHARACTERS
    ):
        yield error(IssueCode.MISSING_SUBSCRIBER, "the coverage's subscriber id is not usable")
    if not content.diagnoses:
        yield error(IssueCode.MISSING_DIAGNOSIS, "the member record lists no diagnosis")
    for position, code in enumerate(content.diagnoses, start=1):
        if not diagnoses.is_billable(code):
            yield error(
                IssueCode.INVALID_DIAGNOSIS,
                f"diagnosis {position} is not a billable code in {diagnoses.name}",
            )


def _npi_issues(inputs: ClaimInputs, content: ProfessionalClaimContent) -> Iterator[ScrubIssue]:
    if not is_valid_npi(content.billing_provider.npi):
        yield error(IssueCode.INVALID_NPI, "the billing provider's NPI fails the CMS check digit")
    for line in content.lines:
        charge = next(c for c in inputs.charges if c.charge_id == line.charge_id)
        provider_id = charge.rendering_provider_id
        if provider_id is None:
            continue
        provider = inputs.providers.get(provider_id)
        if provider is None:
            yield error(
                IssueCode.MISSING_RENDERING_PROVIDER,
                f"no provider record for rendering provider {provider_id} yet",
                line,
            )
        elif not is_valid_npi(provider.npi):
            yield error(
                IssueCode.INVALID_NPI,
                f"rendering provider {provider_id}'s NPI fails the CMS check digit",
                line,
            )


def _line_issues(
    tenant: TenantConfig, charge: ChargeOnFile, line: ClaimLine
) -> Iterator[ScrubIssue]:
    try:
        program = tenant.program(charge.program_id)
    except ConfigLookupError:
        yield error(IssueCode.UNKNOWN_PROGRAM, f"no program {charge.program_id}", line)
        return
    per_diem = charge.kind == PER_DIEM
    if (
        per_diem != (program.filing_type is FilingType.INSTITUTIONAL)
        or charge.filing_type != program.filing_type.value
    ):
        yield error(
            IssueCode.FILING_TYPE_MISMATCH,
            f"a {charge.kind} {charge.filing_type} charge on {program.filing_type.value} "
            f"program {program.id}",
            line,
        )
    elif line.procedure_code is None:
        yield error(IssueCode.MISSING_PROCEDURE_CODE, "the charge has no procedure code", line)


def _group_issues(
    tenant: TenantConfig, charge: ChargeOnFile, line: ClaimLine
) -> Iterator[ScrubIssue]:
    if charge.kind != GROUP:
        return
    context = charge.group
    if context is None:
        yield error(IssueCode.GROUP_CONTEXT_MISMATCH, "a group charge without its session", line)
        return
    day = charge.date_of_service
    try:
        pricing = tenant.program(charge.program_id).group_pricing_on(day)
    except ConfigLookupError:
        yield error(
            IssueCode.GROUP_PRICING_NOT_FOUND,
            f"program {charge.program_id} has no group pricing in force on {day.isoformat()}",
            line,
        )
        return
    rule = tenant.attendance_policy.supervision_ratio_on(
        day, payer_id=charge.payer_id, state=context.facility_state
    )
    acknowledged = frozenset(context.acknowledged_warnings)
    evaluation = evaluate_group_session(
        GroupSessionFacts(
            participant_statuses=[_COUNTED] * context.billable_count,
            supervisor_statuses=[_COUNTED] * len(context.supervisors_present),
            billable_statuses=frozenset({_COUNTED}),
            bands=bands_from_config(pricing),
            max_participants_per_supervisor=rule.max_participants_per_supervisor if rule else None,
            acknowledged_warnings=acknowledged,
        )
    )
    for issue in evaluation.issues:
        note = " (acknowledged)" if issue.code.value in acknowledged else ""
        yield ScrubIssue(
            issue.code.value, issue.severity, issue.message + note, line.line_number, line.charge_id
        )
    yield from _line_context_issues(tenant, charge, line, pricing)
    band = evaluation.band
    if band is None:
        return
    if context.band_name != band.name:
        yield error(
            IssueCode.GROUP_CONTEXT_MISMATCH,
            f"charged as band {context.band_name}; {context.billable_count} billable "
            f"participants make band {band.name}",
            line,
        )
    elif charge.rate != band.rate_per_participant:
        yield error(
            IssueCode.GROUP_CONTEXT_MISMATCH,
            f"charged at {charge.rate}; band {band.name} pays {band.rate_per_participant}",
            line,
        )


def _line_context_issues(
    tenant: TenantConfig, charge: ChargeOnFile, line: ClaimLine, pricing: GroupBillingVersion
) -> Iterator[ScrubIssue]:
    """The code, units and modifiers a group line carries are the program's and payer's in
    force on the date of service (nobody types a modifier by hand)."""
    code = charge.procedure_code
    if code is None:
        return
    if code not in pricing.service_codes:
        yield error(
            IssueCode.GROUP_CONTEXT_MISMATCH,
            f"program {charge.program_id} does not bill {code} as a group service",
            line,
        )
        return
    if charge.units != pricing.units_per_session:
        yield error(
            IssueCode.GROUP_CONTEXT_MISMATCH,
            f"charged {charge.units} units; the program bills {pricing.units_per_session} "
            "per session",
            line,
        )
    try:
        expected = tenant.group_line_modifiers(
            program_id=charge.program_id,
            payer_id=charge.payer_id,
            service_code=code,
            on=charge.date_of_service,
        )
    except ConfigLookupError:
        return  # an unknown payer is its own issue
    if set(charge.modifiers) != set(expected):
        yield error(
            IssueCode.GROUP_CONTEXT_MISMATCH,
            f"modifiers {':'.join(charge.modifiers) or 'none'}; the program and payer rules "
            f"give {':'.join(expected) or 'none'}",
            line,
        )
