"""Pricing a closed group session (SPEC 5), only through the group rules of
``group_billing`` and the tenant configuration in force on the date of service:

- the band: ``resolve_group_size_band`` (inside ``evaluate_group_session``) over the bands of
  ``program.group_pricing_on(date of service)`` and the close's billable participants;
  a version effective later never re-prices an earlier date;
- modifiers: the program version's ``modifiers_for(service code)``, then the payer's
  modifier replacements in force on the date (HQ -> HG); nobody types one;
- units and place of service from the program version; amount = rate x units, in cents;
- rendering provider: the first supervisor present;
- with the tenant's ``enforce_code_assignment``: the code assigned to the member and to the
  rendering staff on the date (billing code groups, ``domain.code_groups``);
- payer and coverage: the member's primary coverage in force on the date.

What pricing cannot decide it names as an issue (NEEDS_FIX) instead of guessing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from group_billing import (
    GroupBillingEvaluation,
    GroupSessionFacts,
    bands_from_config,
    evaluate_group_session,
)

from charges.domain.charges import (
    ChargeTerms,
    GroupContext,
    Issue,
    IssueCode,
    PricingOverride,
    money,
)
from charges.domain.code_groups import CodeAssignmentFacts, code_assignment_issues
from charges.domain.projections import CoveragePeriod
from contracts.events.attendance import GroupSessionClosed
from contracts.tenant import TenantConfig
from contracts.tenant.effective_dating import ConfigLookupError
from contracts.tenant.model import GroupBillingVersion, Payer

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class CoverageOnDate:
    """The member's primary coverage on the date of service, as the projection knows it."""

    member_known: bool
    coverage: CoveragePeriod | None


@dataclass(frozen=True)
class SessionPricing:
    """One close of a session priced once; each participant's terms come from it."""

    closed: GroupSessionClosed
    tenant: TenantConfig
    version: GroupBillingVersion | None
    missing_rate: str | None  # why no pricing version applies, when none does
    evaluation: GroupBillingEvaluation

    @property
    def band_rate(self) -> Decimal | None:
        band = self.evaluation.band
        return band.rate_per_participant if band is not None else None

    def context(self) -> GroupContext:
        closed = self.closed
        return GroupContext(
            session_id=closed.session_id,
            close_sequence=closed.close_sequence,
            facility_state=closed.facility_state,
            billable_count=self.evaluation.billable_count,
            band_name=self.evaluation.band.name if self.evaluation.band is not None else None,
            supervisors_present=tuple(closed.supervisors_present),
            acknowledged_warnings=tuple(closed.acknowledged_warnings),
        )

    @property
    def rendering_provider_id(self) -> str | None:
        supervisors = self.closed.supervisors_present
        return supervisors[0] if supervisors else None

    def terms_for(
        self,
        member_id: str,
        coverage: CoverageOnDate,
        override: PricingOverride,
        assignment: CodeAssignmentFacts | None = None,
    ) -> ChargeTerms:
        """``assignment``: whether the code is assigned to the member and the rendering
        staff on the date; consulted only when the tenant enforces code assignment (then
        None counts as "not assigned")."""
        closed = self.closed
        day = closed.session_date
        issues: list[Issue] = []

        payer_id, coverage_id = bill_to(coverage, override)
        if payer_id is None:
            issues.append(no_coverage_issue(coverage, day))
        payer = configured_payer(self.tenant, payer_id, issues)

        rate = self._rate(override, issues)
        issues += [
            Issue(issue.code.value, issue.message)
            for issue in self.evaluation.issues
            if issue.blocks_billing
        ]
        if self.tenant.enforce_code_assignment:
            facts = assignment or CodeAssignmentFacts(
                closed.service_code,
                member_assigned=False,
                staff_id=self.rendering_provider_id,
                staff_assigned=False if self.rendering_provider_id is not None else None,
            )
            issues += code_assignment_issues(facts, day)

        modifiers: tuple[str, ...] = ()
        units = Decimal(1)
        place_of_service: str | None = None
        if self.version is not None:
            modifiers = self.version.modifiers_for(closed.service_code)
            units = Decimal(self.version.units_per_session)
            place_of_service = self.version.place_of_service
        if payer is not None:
            modifiers = payer.replace_modifiers(
                modifiers, program_id=closed.program_id, service_code=closed.service_code, on=day
            )
        return ChargeTerms(
            member_id=member_id,
            program_id=closed.program_id,
            facility_id=closed.facility_id,
            date_of_service=day,
            procedure_code=closed.service_code,
            modifiers=modifiers,
            units=units,
            rate=rate,
            amount=money(rate * units),
            payer_id=payer_id,
            coverage_id=coverage_id,
            rendering_provider_id=self.rendering_provider_id,
            place_of_service=place_of_service,
            group=self.context(),
            issues=tuple(issues),
        )

    def _rate(self, override: PricingOverride, issues: list[Issue]) -> Decimal:
        if override.rate is not None:
            return money(override.rate)
        if self.missing_rate is not None:
            issues.append(Issue(IssueCode.MISSING_RATE, self.missing_rate))
            return ZERO
        # No band (below the smallest): the group rule's own blocking issue says why.
        return money(self.band_rate) if self.band_rate is not None else ZERO


def bill_to(coverage: CoverageOnDate, override: PricingOverride) -> tuple[str | None, str | None]:
    """(payer id, coverage id) a charge bills: the operator's override, else the member's
    primary coverage on the date of service."""
    if override.payer_id is not None:
        return override.payer_id, override.coverage_id
    if coverage.coverage is not None:
        return coverage.coverage.payer_id, coverage.coverage.coverage_id
    return None, None


def no_coverage_issue(coverage: CoverageOnDate, day: date) -> Issue:
    message = (
        f"no primary coverage in force on {day.isoformat()}"
        if coverage.member_known
        else "the member's record (with its coverage) has not arrived yet"
    )
    return Issue(IssueCode.NO_ACTIVE_COVERAGE, message)


def configured_payer(
    tenant: TenantConfig, payer_id: str | None, issues: list[Issue]
) -> Payer | None:
    """The payer's configuration; PAYER_NOT_CONFIGURED added to ``issues`` when it has none."""
    if payer_id is None:
        return None
    try:
        return tenant.payer(payer_id)
    except ConfigLookupError:
        issues.append(
            Issue(
                IssueCode.PAYER_NOT_CONFIGURED,
                f"payer {payer_id} is not in the tenant configuration",
            )
        )
        return None


def price_session(closed: GroupSessionClosed, tenant: TenantConfig) -> SessionPricing:
    """Price one close: the program's group billing version in force on the session date
    and the group rules over the close's attendance."""
    version: GroupBillingVersion | None = None
    missing_rate: str | None = None
    try:
        version = tenant.program(closed.program_id).group_pricing_on(closed.session_date)
        version.modifiers_for(closed.service_code)  # the version bills this code
    except ConfigLookupError as exc:
        version, missing_rate = None, str(exc)
    evaluation = evaluate_group_session(
        GroupSessionFacts(
            participant_statuses=[row.status.value for row in closed.roster],
            supervisor_statuses=[row.status.value for row in closed.supervisors],
            billable_statuses=frozenset(status.value for status in closed.billable_statuses),
            bands=bands_from_config(version) if version is not None else None,
            # Payer-scoped checks (supervision ratio) warn, never block: the scrubber runs
            # them per claim, with the claim's payer.
            payer_checks_skipped=True,
            acknowledged_warnings=frozenset(closed.acknowledged_warnings),
        )
    )
    return SessionPricing(closed, tenant, version, missing_rate, evaluation)
